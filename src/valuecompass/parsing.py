"""Raw answers → a position on the instrument's scale, or a missing answer with its reason.

Model answers arrive as JSON forms (all values at once), single options (one value per prompt),
wrapped in code fences, after ``<think>`` reasoning, as ``"2: agree"``, ``"like me"``, bare
numbers, ``N/A`` or API error texts. Nothing here raises on a model's output: every failure
becomes a :class:`Parsed` with ``position=None`` and a reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from valuecompass.instrument import Instrument, Scale, UnknownNameError


class Missing(StrEnum):
    """Why an answer has no score."""

    ERROR = "error"  # the call failed; the text is an error message
    EMPTY = "empty"  # nothing was returned
    NO_JSON = "no_json"  # a form answer without a readable JSON object
    ABSENT = "absent"  # the form answer left this value out
    IRRELEVANT = "irrelevant"  # marked irrelevant / not applicable
    AMBIGUOUS = "ambiguous"  # several different options in one answer
    UNRECOGNISED = "unrecognised"  # text that matches no option


@dataclass(frozen=True, slots=True)
class Parsed:
    """One answer: the option code and scale position, or the reason it is missing."""

    raw: str
    code: str | None = None
    position: float | None = None
    missing: Missing | None = None

    @property
    def ok(self) -> bool:
        return self.position is not None


@dataclass(frozen=True, slots=True)
class FormParse:
    """A whole form answer: one :class:`Parsed` per instrument value, plus keys not understood."""

    answers: dict[str, Parsed]
    unknown_keys: tuple[str, ...] = field(default=())


_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[a-zA-Z]*\s*(.*?)```", re.DOTALL)
_NOT_APPLICABLE = {"na", "n/a", "notapplicable", "irrelevant", "none", "null"}
_ERROR = re.compile(r"^\s*error\b", re.IGNORECASE)
_LEADING_CODE = re.compile(r"^\s*([+-]?\d+)\s*(?:[:.)\-]\s*(.*))?$", re.DOTALL)


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9/]", "", text.lower())


def strip_wrappers(text: str) -> str:
    """Drop ``<think>`` blocks (an unclosed one runs to the end) and unwrap code fences."""
    text = _THINK.sub("", text)
    fenced = _FENCE.findall(text)
    if fenced:
        return str(fenced[-1]).strip()
    return text.strip()


def parse_option(raw: object, scale: Scale, fallbacks: Iterable[Scale] = ()) -> Parsed:
    """Parse one option: ``"2"``, ``2``, ``"2: agree"``, ``"like me"``, ``"N/A"`` ...

    Labels are matched whole (``"not like me"`` never matches ``"not like me at all"``),
    first on ``scale``, then on each fallback scale (a portrait label given to an agreement
    question still means the same position). A leading code wins over its label, but text
    naming several codes (an echoed option list) is ambiguous.
    """
    text = "" if raw is None else str(raw).strip().strip("\"'").strip()
    if not text:
        return Parsed(raw="", missing=Missing.EMPTY)
    exact = scale.positions.get(text)
    if exact is not None:  # the common case, a bare option code: no pattern matching needed
        return Parsed(raw=text, code=text, position=exact)
    if _key(text) in _NOT_APPLICABLE:
        return Parsed(raw=text, missing=Missing.IRRELEVANT)
    codes = {o.code for o in scale.options}
    found = [c for c in re.findall(r"[+-]?\d+", text) if c in codes]
    if len(set(found)) > 1:
        return Parsed(raw=text, missing=Missing.AMBIGUOUS)
    lead = _LEADING_CODE.match(text)
    if lead and lead.group(1) in codes:
        return _from_code(text, scale, lead.group(1))
    for candidate in (scale, *fallbacks):
        for option in candidate.options:
            names = (option.label, *option.aliases)
            if any(_key(n) == _key(text) for n in names):
                if option.position is None:
                    return Parsed(raw=text, code=option.code, missing=Missing.IRRELEVANT)
                return Parsed(raw=text, code=option.code, position=option.position)
    return Parsed(raw=text, missing=Missing.UNRECOGNISED)


def _from_code(raw: str, scale: Scale, code: str) -> Parsed:
    position = scale.position_of(code)
    if position is None:
        return Parsed(raw=raw, code=code, missing=Missing.IRRELEVANT)
    return Parsed(raw=raw, code=code, position=position)


def parse_item(text: str, scale: Scale, fallbacks: Iterable[Scale] = ()) -> Parsed:
    """Parse a one-value answer. Tries the whole text, then its first line, then the first
    option code or label that appears as a word in it."""
    if _ERROR.match(text or ""):
        return Parsed(raw=text, missing=Missing.ERROR)
    body = strip_wrappers(text or "")
    first = parse_option(body, scale, fallbacks)
    if first.ok or first.missing in (Missing.EMPTY, Missing.IRRELEVANT):
        return Parsed(raw=text, code=first.code, position=first.position, missing=first.missing)
    line = parse_option(body.splitlines()[0] if body else "", scale, fallbacks)
    if line.ok:
        return Parsed(raw=text, code=line.code, position=line.position)
    return _search_option(text, body, scale)


def _search_option(raw: str, body: str, scale: Scale) -> Parsed:
    codes = [o.code for o in scale.options if o.position is not None]
    hits = {m for m in re.findall(r"(?<![\d.])([+-]?\d+)(?![\d.])", body) if m in codes}
    if len(hits) == 1:
        return _from_code(raw, scale, hits.pop())
    # Longest labels first, so "not like me at all" is tried before "not like me".
    lowered = body.lower()
    for option in sorted(scale.options, key=lambda o: -len(o.label)):
        if option.position is not None and re.search(
            rf"\b{re.escape(option.label.lower())}\b", lowered
        ):
            return Parsed(raw=raw, code=option.code, position=option.position)
    return Parsed(raw=raw, missing=Missing.AMBIGUOUS if hits else Missing.UNRECOGNISED)


def extract_json_object(text: str) -> Mapping[str, object] | None:
    """The JSON object in a model's answer, or ``None``.

    Tries the whole (unwrapped) text, then the span from the first ``{`` to the last ``}``,
    then salvages ``"key": "value"`` pairs from a truncated object.
    """
    body = strip_wrappers(text)
    for candidate in (body, body[body.find("{") : body.rfind("}") + 1]):
        try:
            data = json.loads(candidate)
        except (json.JSONDecodeError, ValueError):
            continue
        if isinstance(data, dict):
            return data
    start = body.find("{")
    if start < 0:
        return None
    pairs = re.findall(r'"([^"\n]+)"\s*:\s*("[^"\n]*"|[+-]?\d+)', body[start:])
    if not pairs:
        return None
    return {k: v.strip('"') for k, v in pairs}


def parse_form(
    text: str, instrument: Instrument, scale: Scale, fallbacks: Iterable[Scale] = ()
) -> FormParse:
    """Parse a whole-form JSON answer into one :class:`Parsed` per instrument value."""
    ids = instrument.value_ids
    if not (text or "").strip():
        return FormParse({v: Parsed(raw="", missing=Missing.EMPTY) for v in ids})
    if _ERROR.match(text):
        return FormParse({v: Parsed(raw=text[:200], missing=Missing.ERROR) for v in ids})
    data = extract_json_object(text)
    if data is None:
        return FormParse({v: Parsed(raw=text[:200], missing=Missing.NO_JSON) for v in ids})
    fallbacks = tuple(fallbacks)
    answers: dict[str, Parsed] = {}
    unknown: list[str] = []
    for key, raw in data.items():
        try:
            value_id = instrument.value(key.strip().lstrip("_")).id
        except UnknownNameError:
            unknown.append(key)
            continue
        if value_id not in answers or not answers[value_id].ok:
            answers[value_id] = parse_option(raw, scale, fallbacks)
    for v in ids:
        answers.setdefault(v, Parsed(raw="", missing=Missing.ABSENT))
    return FormParse({v: answers[v] for v in ids}, tuple(unknown))
