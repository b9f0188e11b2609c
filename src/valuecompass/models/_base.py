"""The one small interface every model backend implements."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from valuecompass.errors import ValueCompassError


class BackendError(ValueCompassError, RuntimeError):
    """A request the backend refused; retrying will not help (kept as a missing answer)."""


class FatalBackendError(BackendError):
    """A failure that dooms every request (bad key, unknown model): the run stops."""


class TransientError(BackendError):
    """A failure worth retrying (rate limit, server error, timeout)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigError(ValueCompassError, ValueError):
    """A backend that cannot be set up as asked (unknown name, missing key or extra)."""


@dataclass(frozen=True)
class Params:
    """Generation parameters; part of every cache key."""

    temperature: float = 0.2
    max_tokens: int | None = None  # None: the mode's default
    seed: int = 0

    def as_dict(self) -> dict[str, float | int | None]:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}


@dataclass(frozen=True)
class Request:
    """One prompt for a backend.

    ``options`` are the answer codes to score with token probabilities (item mode),
    ``value_names`` the names of the items asked (the mock uses them to write a form), and
    ``codes`` the rating codes of the scale the prompt offers (in mode all too), so a backend
    never assumes a scale. ``choices`` are the texts of the options a choice prompt shows,
    in the order shown (the mock may pick by them). ``json_schema``, when given, is the JSON
    schema the reply must follow: a backend that can constrain its output to it does
    (``local`` with a grammar, ``openai`` with ``response_format``); the others answer as they
    would and the reply is parsed as usual.
    """

    messages: Sequence[Mapping[str, str]]
    temperature: float
    max_tokens: int
    seed: int
    options: tuple[str, ...] = ()
    value_names: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    json_schema: Mapping[str, Any] | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completion:
    """A backend's answer: the text, and the option distribution when it can give one."""

    text: str
    option_probs: dict[str, float] | None = None
    option_mass: float | None = None  # probability the model gave the option tokens at all
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    extra: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """A model that answers prompts.

    ``identity`` names the model exactly (file, checksum or endpoint and model name) and is part
    of every cache key. ``max_concurrency`` bounds how many requests the runner sends at once
    (1 for a model in this process). ``complete`` may raise :class:`TransientError`,
    :class:`BackendError` or :class:`FatalBackendError`.
    """

    identity: str
    max_concurrency: int

    def complete(self, request: Request) -> Completion: ...

    def close(self) -> None: ...


@runtime_checkable
class BackendFactory(Protocol):
    """How the registry builds a backend: ``from_spec(ARG, **OPTIONS)``.

    ARG is what follows the backend's name in the spec (``openai:ARG``, ``local:ARG``) and
    OPTIONS the run's backend options (``-M key=value``). The options a factory accepts are the
    keyword parameters of its ``__init__`` (after the first, which ARG fills), unless it declares
    them as ``options``: a mapping from name to a line of help. An option it does not take is
    refused before ``from_spec`` is called.
    """

    def from_spec(self, arg: str, **options: Any) -> Backend: ...


@runtime_checkable
class AsyncBackend(Protocol):
    """A backend that also answers on an event loop; the runner then drives every request of a
    run from one loop thread. ``aclose`` releases what the backend holds on the running loop
    (its connection pool); ``close`` releases the rest."""

    async def acomplete(self, request: Request) -> Completion: ...

    async def aclose(self) -> None: ...


def option_token_ids(
    options: tuple[str, ...],
    tokenize: Callable[[str], Sequence[int]],
    cache: MutableMapping[tuple[str, ...], dict[str, int]],
) -> dict[str, int]:
    """The option codes among OPTIONS that are one token each, with their token ids.

    A code that tokenizes to several tokens is left out (its probability cannot be read at one
    position). Results are kept in CACHE, keyed by the option tuple.
    """
    found = cache.get(options)
    if found is None:
        found = {}
        for code in options:
            ids = tokenize(code)
            if len(ids) == 1:
                found[code] = ids[0]
        cache[options] = found
    return found


def renormalise(logprobs: Mapping[str, float]) -> tuple[dict[str, float], float]:
    """Option log-probabilities → probabilities renormalised over the options, and their mass.

    Options absent from ``logprobs`` get probability 0. With no option present the result is
    empty and the mass 0.
    """
    finite = {k: v for k, v in logprobs.items() if math.isfinite(v)}
    if not finite:
        return {}, 0.0
    top = max(finite.values())
    weights = {k: math.exp(v - top) for k, v in finite.items()}
    total = sum(weights.values())
    mass = total * math.exp(top)
    probs = {k: weights.get(k, 0.0) / total for k in logprobs}
    return probs, mass


def expected_position(probs: Mapping[str, float], positions: Mapping[str, float]) -> float | None:
    """The expected scale position under the option distribution; ``None`` without one."""
    pairs = [(p, positions[c]) for c, p in probs.items() if c in positions]
    total = sum(p for p, _ in pairs)
    if total <= 0:
        return None
    return sum(p * pos for p, pos in pairs) / total
