"""Raw answers → a position on the instrument's scale, or a missing answer with its reason.

Model answers arrive as JSON objects (all values at once, mode ``all``), single options (one
value per prompt), wrapped in code fences, after ``<think>`` reasoning, as ``"2: agree"``,
``"like me"``, bare numbers, ``N/A`` or API error texts. Nothing here raises on a model's
output: every failure becomes a :class:`Parsed` with ``position=None`` and a reason.
"""

from __future__ import annotations

import ast
import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from valuecompass.instrument import Instrument, RatingScale, Scale, UnknownNameError

#: A scale as parsing takes it: the instrument's rating scale, or its deprecated format-1 view.
AnyScale = Scale | RatingScale


@dataclass(frozen=True, slots=True)
class _Option:
    code: str
    label: str
    position: float | None  # None: a missing code ("irrelevant")
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _View:
    """A scale as parsing reads it: its options (points, then missing codes) and positions;
    BARE: the codes of its points that an answer of just that code reads as, unchanged."""

    options: tuple[_Option, ...]
    positions: dict[str, float]
    bare: frozenset[str] = frozenset()

    def position_of(self, code: str) -> float | None:
        return self.positions.get(code)


#: Views already made: id of the scale -> the scale (kept, so its id stays its own) and view.
_VIEWS: dict[int, tuple[AnyScale, _View]] = {}


def _view(scale: AnyScale | _View) -> _View:
    """Any scale's options, whatever its length and codes (made once per scale object)."""
    if isinstance(scale, _View):
        return scale
    made = _VIEWS.get(id(scale))
    if made is not None and made[0] is scale:
        return made[1]
    view = _make_view(scale)
    if len(_VIEWS) > 4096:  # scales made and dropped by the thousand: start again
        _VIEWS.clear()
    _VIEWS[id(scale)] = (scale, view)
    return view


def _make_view(scale: AnyScale) -> _View:
    if isinstance(scale, RatingScale):
        rated = [
            _Option(p.code, p.label, x, p.aliases)
            for p, x in zip(scale.points, scale.positions, strict=True)
        ]
        missing = [_Option(m.code, m.label, None, m.aliases) for m in scale.missing]
        options = (*rated, *missing)
    else:
        options = tuple(_Option(o.code, o.label, o.position, o.aliases) for o in scale.options)
    positions = {o.code: o.position for o in options if o.position is not None}
    return _View(options, positions, frozenset(c for c in positions if _is_bare(c)))


def _is_bare(code: str) -> bool:
    """An answer of just CODE is that code: nothing in it is stripped, unwrapped or read as
    an error (see :func:`_parse_item`)."""
    return (
        bool(code)
        and code == code.strip().strip("\"'").strip()
        and "<" not in code
        and "`" not in code
        and not _ERROR.match(code)
    )


class Missing(StrEnum):
    """Why an answer has no score."""

    ERROR = "error"  # the call failed; the text is an error message
    EMPTY = "empty"  # nothing was returned
    NO_JSON = "no_json"  # a mode-all answer without a readable JSON object
    ABSENT = "absent"  # the mode-all answer left this value out
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
class AllParse:
    """An answer to every item at once (mode ``all``): one :class:`Parsed` per instrument item,
    plus keys not understood."""

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


def parse_option(
    raw: object, scale: AnyScale | _View, fallbacks: Iterable[AnyScale | _View] = ()
) -> Parsed:
    """Parse one option: ``"2"``, ``2``, ``"2: agree"``, ``"like me"``, ``"N/A"`` ...

    Labels are matched whole (``"not like me"`` never matches ``"not like me at all"``),
    first on ``scale``, then on each fallback scale (a portrait label given to an agreement
    question still means the same position). A leading code wins over its label, but text
    naming several codes (an echoed option list) is ambiguous. The options are the scale's
    points, whatever its length and codes; its missing codes read as irrelevant.
    """
    view = _view(scale)
    others = tuple(_view(f) for f in fallbacks)
    text = "" if raw is None else str(raw).strip().strip("\"'").strip()
    if not text:
        return Parsed(raw="", missing=Missing.EMPTY)
    exact = view.positions.get(text)
    if exact is not None:  # the common case, a bare option code: no pattern matching needed
        return Parsed(raw=text, code=text, position=exact)
    if _key(text) in _NOT_APPLICABLE:
        return Parsed(raw=text, missing=Missing.IRRELEVANT)
    codes = {o.code for o in view.options}
    found = [c for c in re.findall(r"[+-]?\d+", text) if c in codes]
    if len(set(found)) > 1:
        return Parsed(raw=text, missing=Missing.AMBIGUOUS)
    lead = _LEADING_CODE.match(text)
    if lead and lead.group(1) in codes:
        return _from_code(text, view, lead.group(1))
    for candidate in (view, *others):
        for option in candidate.options:
            names = (option.label, *option.aliases)
            if any(_key(n) == _key(text) for n in names):
                if option.position is None:
                    return Parsed(raw=text, code=option.code, missing=Missing.IRRELEVANT)
                return Parsed(raw=text, code=option.code, position=option.position)
    return Parsed(raw=text, missing=Missing.UNRECOGNISED)


def _from_code(raw: str, scale: _View, code: str) -> Parsed:
    position = scale.position_of(code)
    if position is None:
        return Parsed(raw=raw, code=code, missing=Missing.IRRELEVANT)
    return Parsed(raw=raw, code=code, position=position)


def parse_item(text: str, scale: AnyScale, fallbacks: Iterable[AnyScale] = ()) -> Parsed:
    """Parse a one-item answer. Tries the whole text, then its first line, then the first
    option code or label that appears as a word in it."""
    view = _view(scale)
    if text in view.bare:  # the common case, a bare option code: read as it is
        return Parsed(raw=text, code=text, position=view.positions[text])
    return _parse_item(text, view, tuple(_view(f) for f in fallbacks))


def _parse_item(text: str, scale: _View, fallbacks: tuple[_View, ...]) -> Parsed:
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


def _search_option(raw: str, body: str, scale: _View) -> Parsed:
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


#: ``ast.literal_eval`` from several threads at once can fail inside CPython 3.11 itself
#: ("AST constructor recursion depth mismatch", fixed in later releases): one at a time.
_LITERAL_LOCK = threading.Lock()


def python_literal(text: str) -> object:
    """The Python literal TEXT spells (a reply written as a dict with single quotes), or
    ``None`` when it spells none; safe from any thread."""
    with _LITERAL_LOCK:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None


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


def parse_all(
    text: str, instrument: Instrument, scale: AnyScale, fallbacks: Iterable[AnyScale] = ()
) -> AllParse:
    """Parse a JSON answer to every item at once (mode ``all``) into one :class:`Parsed` per
    instrument item (keys are matched to items by id, name or alias)."""
    ids = instrument.item_ids
    if not (text or "").strip():
        return AllParse({v: Parsed(raw="", missing=Missing.EMPTY) for v in ids})
    if _ERROR.match(text):
        return AllParse({v: Parsed(raw=text[:200], missing=Missing.ERROR) for v in ids})
    data = extract_json_object(text)
    if data is None:
        return AllParse({v: Parsed(raw=text[:200], missing=Missing.NO_JSON) for v in ids})
    view, others = _view(scale), tuple(_view(f) for f in fallbacks)
    answers: dict[str, Parsed] = {}
    unknown: list[str] = []
    for key, raw in data.items():
        try:
            value_id = instrument.item(key.strip().lstrip("_")).id
        except UnknownNameError:
            unknown.append(key)
            continue
        if value_id not in answers or not answers[value_id].ok:
            answers[value_id] = parse_option(raw, view, others)
    for v in ids:
        answers.setdefault(v, Parsed(raw="", missing=Missing.ABSENT))
    return AllParse({v: answers[v] for v in ids}, tuple(unknown))


#: Deprecated names (mode ``all`` was called ``form``).
parse_form = parse_all
FormParse = AllParse
