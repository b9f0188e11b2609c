"""Where each backend lives; modules are imported only when their backend is asked for.

Built-in backends are listed in :data:`BACKENDS`. Other packages add backends through the
``valuecompass.backends`` entry point group, one entry point per backend naming its factory::

    [project.entry-points."valuecompass.backends"]
    echo = "valuecompass_echo:EchoBackend"

A factory is a :class:`~valuecompass.models.BackendFactory`: ``from_spec(arg, **options)``. A
built-in name wins over a plugin of the same name; a plugin is imported only when asked for.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from valuecompass.models._base import Backend, BackendFactory, ConfigError

#: The entry point group third-party backends register in.
ENTRY_POINT_GROUP = "valuecompass.backends"


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
        "any OpenAI-compatible endpoint: openai:MODEL with -M base_url=URL (OPENAI_BASE_URL) "
        "and -M api_key=KEY (OPENAI_API_KEY)",
    ),
    "anthropic": Entry(
        "valuecompass.models.anthropic",
        "AnthropicBackend",
        "anthropic",
        "Anthropic's Messages API: anthropic:MODEL with -M api_key=KEY (ANTHROPIC_API_KEY); "
        "scored by answers (no log-probabilities)",
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


def plugins() -> dict[str, metadata.EntryPoint]:
    """The backends other installed packages register, by name (not imported)."""
    found = {ep.name.lower(): ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    return {name: ep for name, ep in found.items() if name not in BACKENDS}


def _builtin(name: str, entry: Entry) -> Any:
    try:
        module = importlib.import_module(entry.module)
    except ImportError as exc:
        hint = f"pip install 'valuecompass[{entry.extra}]'" if entry.extra else "reinstall"
        raise ConfigError(
            f"the {name} backend needs a package that is not installed ({exc.name}): {hint}"
        ) from exc
    return getattr(module, entry.factory)


def _plugin(name: str, ep: metadata.EntryPoint) -> Any:
    where = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else ep.value
    try:
        factory = ep.load()
    except Exception as exc:  # a broken plugin is named, whatever went wrong in it
        raise ConfigError(
            f"the {name} backend (entry point {ep.value!r} of {where}) cannot be loaded: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(factory, BackendFactory):
        raise ConfigError(
            f"the {name} backend (entry point {ep.value!r} of {where}) has no from_spec"
        )
    return factory


def backend_factory(name: str) -> BackendFactory:
    """The factory of the backend NAME: a built-in one, else a plugin's."""
    entry = BACKENDS.get(name)
    if entry is not None:
        factory: BackendFactory = _builtin(name, entry)
        return factory
    found = plugins()
    if name in found:
        factory = _plugin(name, found[name])
        return factory
    known = ", ".join([*BACKENDS, *sorted(found)])
    raise ConfigError(f"unknown model backend {name!r}; known backends: {known}")


def option_names(factory: Any) -> tuple[str, ...]:
    """The options FACTORY accepts: its ``options`` mapping if it declares one, else the
    keyword parameters of its ``__init__`` after the first (which the spec's argument fills)."""
    declared = getattr(factory, "options", None)
    if isinstance(declared, Mapping):
        return tuple(declared)
    params = list(inspect.signature(factory.__init__).parameters.values())[2:]  # self, arg
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in params if p.kind in kinds)


def backend_options(spec: str) -> tuple[str, ...]:
    """The options the backend SPEC names accepts (imports its module)."""
    return option_names(backend_factory(split_spec(spec)[0]))


def get_backend(spec: str, **options: Any) -> Backend:
    """Build the backend SPEC names (``backend`` or ``backend:argument``) with OPTIONS.

    An option the backend does not accept is refused, naming the backend and its options.
    """
    name, arg = split_spec(spec)
    try:
        factory = backend_factory(name)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (in --model {spec!r})") from exc
    accepted = option_names(factory)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        listed = ", ".join(accepted) or "none"
        raise ConfigError(f"the {name} backend has no option {unknown[0]!r}; its options: {listed}")
    return factory.from_spec(arg, **options)
