"""Shared by the review-study tests: a small hand-written action set with spans, and an
annotator who judges by a rule.

The action that expresses an item reads "I keep <name> close.", the one that opposes it "I
drop <name> for now."; the span "keep <name>" (or "drop <name>") is the one that carries the
item, so a page marks it.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
from click.testing import CliRunner

from _survey_support import Walker
from valuecompass.cli import main
from valuecompass.instrument import Instrument, load_instrument
from valuecompass.store.reviews import CRITERIA

ACTIONS = load_instrument("value_actions")
SET = "to_review"
#: Three items in two cells, both inclinations: twelve actions.
ITEMS = ("ambitious", "honest", "helpful")
CELLS = (("india", "politics"), ("germany", "religion"))
ACTION = re.compile(r'<section class="action" id="action-([0-9]+)"')
DEED = re.compile(r'<p class="deed">(.*?)</p>', re.S)


def review_set(
    db: str,
    tmp_path: Path,
    cells: Iterable[tuple[str, ...]] = CELLS,
    items: Iterable[str] = ITEMS,
    instrument: Instrument = ACTIONS,
    name: str = SET,
    instrument_arg: str | None = None,
) -> None:
    """Import the set NAME of INSTRUMENT (given to the command as INSTRUMENT_ARG, by default
    its id) for CELLS (levels of its context axes) and ITEMS."""
    path = tmp_path / f"{name}.csv"
    names = {item.id: item.name for item in instrument.items}
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        axes = [a.id for a in instrument.context_axes]
        out.writerow([*axes, "value", "inclination", "action", "spans"])
        for cell in cells:
            for item in items:
                word = names[item]
                out.writerow([*cell, item, "expresses", f"I keep {word} close.", f"keep {word}"])
                out.writerow([*cell, item, "opposes", f"I drop {word} for now.", f"drop {word}"])
    args = ["actions", "import", str(path), "--set", name, "--db", db]
    args += ["--instrument", instrument_arg or instrument.id]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output


def shown(page: httpx.Response) -> list[tuple[int, str]]:
    """(action id, its text without the marks) for each action on a review page."""
    ids = [int(i) for i in ACTION.findall(page.text)]
    texts = [html.unescape(re.sub(r"<[^>]+>", "", t)) for t in DEED.findall(page.text)]
    assert len(ids) == len(texts), page.text
    return list(zip(ids, texts, strict=True))


#: Judges one action: its id and text → the criteria's answers ("yes" or "no").
Judge = Callable[[int, str], dict[str, str]]


def all_yes(action_id: int, text: str) -> dict[str, str]:
    return dict.fromkeys(CRITERIA, "yes")


def review_all(walker: Walker, judge: Judge = all_yes) -> list[list[tuple[int, str]]]:
    """Answer every review page; the actions of each page in order. Ends at /open."""
    start = walker.web.get("/reviews")
    assert start.status_code == 303, start.text
    url = start.headers["location"]
    pages = []
    while url.startswith("/review/"):
        page = walker.get(url)
        assert page.status_code == 200, page.text
        on_page = shown(page)
        pages.append(on_page)
        data: dict[str, str] = {}
        for action_id, text in on_page:
            marks = judge(action_id, text)
            data.update({f"{c}_{action_id}": marks[c] for c in CRITERIA})
        reply = walker.post(url, data)
        assert reply.status_code == 303, reply.text
        url = reply.headers["location"]
    assert url == "/open", url
    return pages
