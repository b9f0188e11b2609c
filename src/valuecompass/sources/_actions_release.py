"""The value–action study's released actions, read whole: each row's generated JSON.

``outputs/data_release/value_action_gap_full_data_generation.csv`` has one row per country ×
topic × value × polarity; its ``generation_prompt`` is the model's reply: a JSON object (at
times in a ```json fence, at times with single quotes, at times with an apostrophe inside a
single-quoted string, which no parser reads) with the keys ``Human Action``, ``Feature
Attributions`` (a list of spans) and ``Natural Language Explanation``. Each value is read by
the first way that works: JSON, a Python literal, then the text between one key and the next.
A reply with none of the keys keeps its row, missing ``no_json``; one without an action keeps
it missing ``no_action``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from valuecompass.answers import extract_json_object, python_literal
from valuecompass.common import read_rows
from valuecompass.sources._gap_release import GapFileError, require

ACTION_KEY, SPANS_KEY, EXPLANATION_KEY = (
    "Human Action",
    "Feature Attributions",
    "Natural Language Explanation",
)
RELEASE_COLUMNS = ("value", "polarity", "generation_prompt")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```\s*$")
_KEY = re.compile(
    r"""(["'])(Human Action|Feature Attributions|Natural Language Explanation)\1\s*:\s*"""
)
_SPLIT = re.compile(r"""(?<=["'])\s*,\s*(?=["'])""")


def is_release_header(header: list[str]) -> bool:
    """Whether a CSV header is the released actions file's (it has ``generation_prompt``)."""
    return "generation_prompt" in header


def release_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The released file's rows in the tidy action layout (``value``, ``inclination``,
    ``action``, ``spans`` as JSON, ``explanation``, ``source``, ``source_detail``, ``missing``
    and the file's own context columns), each with its line."""
    rows = read_rows(path, GapFileError)
    require(path, rows.header, RELEASE_COLUMNS, "the released actions file")
    out = []
    for index, (line, row) in enumerate(rows):
        reply = row["generation_prompt"]
        data = read_reply(reply)
        action = str(data.get(ACTION_KEY) or "").strip()
        missing = "no_json" if not data else "" if action else "no_action"
        detail: dict[str, Any] = {"file": str(path), "row": index, "line": line}
        if missing:
            detail["reply"] = reply
        tidy = {
            **row,
            "inclination": row["polarity"],
            "action": action,
            "spans": json.dumps(_spans(data.get(SPANS_KEY))),
            "explanation": str(data.get(EXPLANATION_KEY) or "").strip(),
            "source": "imported",
            "source_detail": json.dumps(detail),
            "missing": missing,
        }
        out.append((line, tidy))
    return out


def read_reply(text: str) -> dict[str, Any]:
    """The reply's keys and values (see the module); empty when it has none of the keys."""
    body = _FENCE.sub("", text.strip())
    found = extract_json_object(body)
    if isinstance(found, dict) and ACTION_KEY in found:
        return dict(found)
    start, end = body.find("{"), body.rfind("}")
    data = python_literal(body[start : end + 1]) if 0 <= start < end else None
    if isinstance(data, dict) and ACTION_KEY in data:
        return data
    return _between_keys(body)


def _between_keys(body: str) -> dict[str, Any]:
    """Each key's value: the text from it to the next key (or the closing brace)."""
    marks = list(_KEY.finditer(body))
    out: dict[str, Any] = {}
    for i, mark in enumerate(marks):
        stop = marks[i + 1].start() if i + 1 < len(marks) else body.rfind("}")
        raw = body[mark.end() : stop if stop > mark.end() else len(body)].strip().rstrip(",")
        raw = raw.strip()
        out[mark.group(2)] = _list_text(raw) if raw.startswith("[") else _unquote(raw)
    return out


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw


def _list_text(raw: str) -> list[str]:
    inner = raw.strip().removeprefix("[").removesuffix("]").strip()
    return [_unquote(part.strip()) for part in _SPLIT.split(inner) if part.strip()]


def _spans(value: object) -> list[str]:
    """The spans as a list of strings: a list as it is, one string as one span, else none."""
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str) and value.strip():
        return [value.strip()]
    return []
