"""A deterministic, scriptable model for tests and dry runs; no network, no weights."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

from valuecompass.models._base import Completion, ConfigError, Request

Script = Callable[[Request], str]


def _digest(*parts: object) -> int:
    text = json.dumps(parts, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class MockBackend:
    """Answers every prompt from a hash of the prompt and seed, or as scripted.

    * ``answer``: always this option code (``"2"``), or ``None`` for a hashed choice among
      the request's ``codes`` (the scale the prompt offers; its ``options`` when it has none;
      with neither, a free-text request, a deterministic line of text; with a JSON schema, an
      object that follows it, see :func:`_fill_schema`; given, the reply is ANSWER as it is);
    * ``pick``: for a choice prompt (a request with ``choices``), pick the first option whose
      text holds this word (case ignored), else a hashed one: the option's code, or under a
      JSON schema an object whose first enumerated string is the option's value;
    * ``script``: a function from request to text, overriding everything else;
    * ``delay``: seconds to wait per request (to imitate a remote model);
    * ``probs``: also return an option distribution peaked on the chosen option.
    """

    max_concurrency = 64
    #: What ``-M key=value`` may set (also settable in the spec: ``mock:answer=2,delay=0.1``).
    options: ClassVar[dict[str, str]] = {
        "answer": "always this option code",
        "delay": "seconds to wait per request",
        "probs": "also return an option distribution (default true)",
        "pick": "choice prompts: pick the option whose text holds this word",
    }

    def __init__(
        self,
        answer: str | None = None,
        delay: float = 0.0,
        script: Script | None = None,
        probs: bool = True,
        pick: str | None = None,
    ) -> None:
        self.answer = answer
        self.pick = pick
        self.delay = delay
        self.script = script
        self.probs = probs
        self.identity = f"mock:answer={answer or 'hash'}" + (f",pick={pick}" if pick else "")
        self.calls = 0

    @classmethod
    def from_spec(cls, arg: str, **options: Any) -> MockBackend:
        settings: dict[str, Any] = {k: v for k, v in options.items() if k != "probs"}
        for part in filter(None, arg.split(",")):
            key, sep, val = part.partition("=")
            if not sep or key not in ("answer", "delay", "pick"):
                raise ConfigError(
                    f"mock: unknown setting {part!r}; use answer=CODE, delay=SEC or pick=WORD"
                )
            settings[key] = val
        try:
            delay = float(settings.get("delay", 0.0))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"mock: delay must be a number, got {settings['delay']!r}") from exc
        answer = settings.get("answer")
        probs = options.get("probs", True)
        if not isinstance(probs, bool):
            raise ConfigError(f"mock: probs must be true or false, got {probs!r}")
        pick = settings.get("pick")
        return cls(answer=None if answer is None else str(answer), delay=delay, probs=probs,
                   pick=None if pick is None else str(pick))  # fmt: skip

    def _choose(self, request: Request, options: tuple[str, ...], salt: str) -> str:
        if self.answer is not None:
            return self.answer
        picked = self._picked(request)
        if picked is not None and picked < len(options):
            return options[picked]
        return options[_digest(list(request.messages), request.seed, salt) % len(options)]

    def _picked(self, request: Request) -> int | None:
        """The place of the choice whose text holds ``pick``; ``None`` if none does."""
        if not (self.pick and request.choices):
            return None
        word = self.pick.lower()
        return next((k for k, t in enumerate(request.choices) if word in t.lower()), None)

    def complete(self, request: Request) -> Completion:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        if self.script is not None:
            return Completion(text=self.script(request))
        if request.json_schema is not None and self.answer is None:
            filled = _fill_schema(request, self._picked(request))
            return Completion(text=json.dumps(filled), completion_tokens=30)
        options = request.codes or request.options  # the scale's rating codes, whatever they are
        if not options and self.answer is None:  # a free-text request (coding): a line of text
            return Completion(text=f"mock reply {_digest(list(request.messages), request.seed)}")
        if request.value_names:
            form = {name: self._choose(request, options, name) for name in request.value_names}
            return Completion(text=json.dumps(form), completion_tokens=len(form) * 6)
        code = self._choose(request, options, "")
        if not (self.probs and request.options):
            return Completion(text=code, completion_tokens=1)
        weights = {c: (4.0 if c == code else 1.0) for c in request.options}
        total = sum(weights.values())
        probs = {c: w / total for c, w in weights.items()}
        return Completion(text=code, option_probs=probs, option_mass=1.0, completion_tokens=1)

    def close(self) -> None:
        return None


def _fill_schema(request: Request, picked: int | None = None) -> dict[str, object]:
    """An object following the request's JSON schema: its first string property a
    first-person sentence with a number hashed from the prompt, the other strings a short
    first-person sentence, arrays of strings one span of the first; an enumerated string one
    of its values (the PICKED one if given, else hashed)."""
    schema = request.json_schema or {}
    number = _digest(list(request.messages), request.seed) % 10_000
    first = f"I act on it in my own way ({number})."
    out: dict[str, object] = {}
    for key, spec in dict(schema.get("properties") or {}).items():
        kind = dict(spec).get("type")
        values = list(dict(spec).get("enum") or [])
        if values:
            at = picked if picked is not None and picked < len(values) else number % len(values)
            out[key] = values[at]
        elif kind == "array":
            out[key] = ["my own way"]
        elif kind == "string":
            out[key] = first if not any(isinstance(v, str) for v in out.values()) else (
                "It is what I would do.")  # fmt: skip
    return out
