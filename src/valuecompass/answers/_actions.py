"""Reading a generated action: the reply's JSON object, its action, spans and explanation.

A reply is read by the first way that finds the action's key in it: the JSON object in the
text, raw line breaks in its strings allowed (a ```json fence unwrapped, text before and after
it ignored, a truncated object's finished ``"key": "value"`` pairs salvaged:
:func:`extract_json_object`), then the object as a Python literal (single quotes). Keys are
matched without regard to case, spaces, underscores or hyphens (``Human Action`` is
``human_action``).

What is kept, and why an action may be missing (the store's reasons):

* ``no_json``: no object in the reply with the action's key (nor any JSON object at all);
* ``no_action``: the object's action is empty;
* ``not_first_person``: the action has none of the first-person words (see
  :func:`first_person`);
* ``error``: the call failed (the caller knows: it passes no reply).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from valuecompass.answers._parse import extract_json_object, python_literal, strip_wrappers

#: English first-person words, matched as whole words without regard to case, except that
#: ``US`` written in capitals is the country, not "us". Contractions (I'm, I've, we'll) match
#: through their first part.
FIRST_PERSON_EN: tuple[str, ...] = (
    "i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves",
)  # fmt: skip

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


@dataclass(frozen=True)
class ParsedAction:
    """A reply read: the action's text, spans and explanation, or why it has none."""

    text: str = ""
    spans: list[str] = field(default_factory=list)
    explanation: str = ""
    missing: str | None = None

    @property
    def ok(self) -> bool:
        return self.missing is None


def _norm(key: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(key)).casefold()


def first_person(text: str, words: Sequence[str] = FIRST_PERSON_EN) -> bool:
    """Whether TEXT speaks in the first person: it has one of WORDS as a whole word (case
    ignored; ``US`` in capitals excepted). With no WORDS there is no rule: always true."""
    if not words:
        return True
    wanted = {w.casefold() for w in words}
    return any(w.casefold() in wanted and w != "US" for w in _WORD.findall(text))


def _object(reply: str, action_key: str) -> Mapping[str, object] | None:
    """The reply's object that has the action's key, else any object it has."""
    wanted = _norm(action_key)
    body = strip_wrappers(reply)
    start, end = body.find("{"), body.rfind("}")
    if 0 <= start < end:  # raw line breaks inside strings, as some grammars let through
        try:
            loose = json.loads(body[start : end + 1], strict=False)
        except ValueError:
            loose = None
        if isinstance(loose, dict) and any(_norm(k) == wanted for k in loose):
            return loose
    found = extract_json_object(reply)
    if found is not None and any(_norm(k) == wanted for k in found):
        return found
    if 0 <= start < end:
        data = python_literal(body[start : end + 1])
        if isinstance(data, dict) and any(_norm(k) == wanted for k in data):
            return data
    return found


def _get(data: Mapping[str, object], key: str) -> object:
    wanted = _norm(key)
    return next((v for k, v in data.items() if _norm(k) == wanted), None)


def _spans(value: object) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str) and value.strip():
        return [value.strip()]
    return []


def parse_action(
    reply: str,
    keys: tuple[str, str, str] = ("action", "spans", "explanation"),
    words: Sequence[str] = FIRST_PERSON_EN,
) -> ParsedAction:
    """Read REPLY (see the module); KEYS are the action's, the spans' and the explanation's
    keys, WORDS the first-person words (none: no first-person rule)."""
    action_key, spans_key, explanation_key = keys
    data = _object(reply or "", action_key)
    if data is None or not any(_norm(k) == _norm(action_key) for k in data):
        return ParsedAction(missing="no_json")
    raw = _get(data, action_key)
    text = " ".join(str(raw).split()) if isinstance(raw, str | int | float) else ""
    spans = _spans(_get(data, spans_key))
    explanation = _get(data, explanation_key)
    why = " ".join(str(explanation).split()) if isinstance(explanation, str) else ""
    if not text:
        return ParsedAction("", spans, why, "no_action")
    if not first_person(text, words):
        return ParsedAction(text, spans, why, "not_first_person")
    return ParsedAction(text, spans, why)
