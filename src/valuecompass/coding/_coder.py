"""Coding open-ended answers with a model: any ``prompt -> text`` callable.

The coder gets the codebook's instructions with the answer filled in and must reply with a JSON
list of theme ids. A reply that is not such a list, or names a theme the codebook lacks, is
kept as a missing code with the reason, never guessed at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from valuecompass.coding._codebook import Codebook
from valuecompass.coding._tables import CODE_COLUMNS, KEYS, join_themes
from valuecompass.errors import ValueCompassError

#: A model coder: the prompt in, the completion's text out.
Coder = Callable[[str], str]

_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[a-zA-Z]*\s*(.*?)```", re.DOTALL)


def parse_codes(text: str, codebook: Codebook) -> tuple[str, str]:
    """A model's reply → ``(themes, missing)``: ``;``-joined ids, or ``""`` and the reason.

    Accepted: a JSON list of theme ids or names (``[]`` for none), or an object with a
    ``themes`` list, possibly inside a code fence or after reasoning in ``<think>`` tags.
    """
    body = _THINK.sub("", text or "").strip()
    fenced = _FENCE.search(body)
    if fenced:
        body = fenced.group(1).strip()
    if not body:
        return "", "empty reply"
    found = _json_list(body)
    if found is None:
        return "", f"no JSON list of themes in {_short(body)!r}"
    ids, unknown = [], []
    for item in found:
        theme = codebook.theme(str(item))
        if theme is None:
            unknown.append(str(item))
        else:
            ids.append(theme.id)
    if unknown:
        return "", f"unknown theme(s): {', '.join(unknown)}"
    return join_themes(ids, codebook), ""


def _json_list(body: str) -> list[Any] | None:
    candidates = [body]
    candidates += [m.group(0) for m in re.finditer(r"\[[^\[\]]*\]|\{[^{}]*\}", body, re.DOTALL)]
    for text in candidates:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, ValueError):
            continue
        if isinstance(data, dict):
            data = data.get("themes")
        if isinstance(data, list) and all(isinstance(x, str) for x in data):
            return data
    return None


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def code_answers(
    answers: pd.DataFrame, codebook: Codebook, coder: Coder, name: str
) -> pd.DataFrame:
    """Code every answer with CODER; the codes table of coder NAME.

    An answer with empty text is coded with no theme without asking. A coder that raises a
    :class:`~valuecompass.errors.ValueCompassError` (a backend's error) leaves that answer
    missing with the message.
    """
    rows = []
    for record in answers.to_dict("records"):
        text = str(record["text"]).strip()
        if not text:
            themes, missing = "", ""
        else:
            prompt = codebook.prompt(text, str(record["question"]), str(record["scenario"]))
            try:
                themes, missing = parse_codes(coder(prompt), codebook)
            except ValueCompassError as exc:
                themes, missing = "", f"error: {exc}"
        rows.append(
            {**{k: record[k] for k in KEYS}, "coder": name, "themes": themes, "missing": missing}
        )
    return pd.DataFrame(rows, columns=CODE_COLUMNS)


def backend_coder(backend: Any, max_tokens: int = 200, seed: int = 0) -> Coder:
    """A :class:`valuecompass.models.Backend` as a coder (temperature 0, one user message)."""
    from valuecompass.models import Request

    def complete(prompt: str) -> str:
        request = Request(
            messages=[{"role": "user", "content": prompt}],
            temperature=0.0,
            max_tokens=max_tokens,
            seed=seed,
        )
        return str(backend.complete(request).text)

    return complete
