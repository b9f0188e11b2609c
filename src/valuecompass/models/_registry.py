"""Where each backend lives; modules are imported only when their backend is asked for."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from valuecompass.models._base import Backend, ConfigError


@dataclass(frozen=True)
class Entry:
    module: str
    factory: str
    extra: str | None  # the pip extra its dependencies come with
    help: str


BACKENDS: dict[str, Entry] = {
    "local": Entry(
        "valuecompass.models.local",
        "LocalBackend",
        "local",
        "a GGUF model through llama-cpp-python; the bundled SmolLM2-135M-Instruct by default, "
        "or local:PATH.gguf",
    ),
    "openai": Entry(
        "valuecompass.models.openai",
        "OpenAIBackend",
        "openai",
        "any OpenAI-compatible endpoint: openai:MODEL with --base-url / OPENAI_BASE_URL "
        "and --api-key / OPENAI_API_KEY",
    ),
    "transformers": Entry(
        "valuecompass.models.transformers",
        "TransformersBackend",
        "transformers",
        "a local Hugging Face model directory: transformers:PATH",
    ),
    "mock": Entry(
        "valuecompass.models.mock",
        "MockBackend",
        None,
        "deterministic answers for tests: mock, mock:answer=2, mock:delay=0.05",
    ),
}


def split_spec(spec: str) -> tuple[str, str]:
    """``"openai:gpt-4o-mini"`` → ``("openai", "gpt-4o-mini")``; ``"local"`` → ``("local", "")``."""
    name, _, arg = spec.partition(":")
    return name.strip().lower(), arg.strip()


def get_backend(spec: str, **options: Any) -> Backend:
    """Build the backend SPEC names (``backend`` or ``backend:argument``) with OPTIONS."""
    name, arg = split_spec(spec)
    entry = BACKENDS.get(name)
    if entry is None:
        known = ", ".join(BACKENDS)
        raise ConfigError(f"unknown model backend {name!r} in {spec!r}; known backends: {known}")
    try:
        module = importlib.import_module(entry.module)
    except ImportError as exc:
        hint = f"pip install 'valuecompass[{entry.extra}]'" if entry.extra else "reinstall"
        raise ConfigError(
            f"the {name} backend needs a package that is not installed ({exc.name}): {hint}"
        ) from exc
    backend: Backend = getattr(module, entry.factory).from_spec(arg, **options)
    return backend
