"""Shared by the choice-study tests: a hand-written action set, and a participant who
chooses by the actions' words.

In the hand set, the action that expresses an item reads "I keep <name>.", the one that
opposes it "I drop <name>."; a chooser can tell them apart by their first word only.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
from click.testing import CliRunner
from sqlalchemy import Engine

from _survey_support import Walker
from valuecompass.cli import main
from valuecompass.instrument import Instrument, load_instrument

ACTIONS = load_instrument("value_actions")
PAIR = re.compile(
    r'name="c_([a-z0-9_-]+)" value="([12])"[^>]*><span>'
    r'<span class="which">[^<]*</span> ([^<]*)</span>'
)
SET = "hand"


def hand_set(
    db: str,
    tmp_path: Path,
    cells: Iterable[tuple[str, str]] = (("India", "Politics"),),
    lacking: Iterable[str] = (),
    name: str = SET,
    instrument: Instrument = ACTIONS,
) -> str:
    """Import the hand set of INSTRUMENT for CELLS (levels of its two context axes) into DB;
    the items in LACKING have no opposing action (it is kept missing: ``no_action``). Returns
    what the command said."""
    path = tmp_path / f"{name}.csv"
    gone = set(lacking)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        axes = [a.id for a in instrument.context_axes]
        out.writerow([*axes, "value", "inclination", "action", "missing"])
        for country, topic in cells:
            for item in instrument.items:
                out.writerow([country, topic, item.id, "expresses", f"I keep {item.name}.", ""])
                if item.id in gone:
                    out.writerow([country, topic, item.id, "opposes", "", "no_action"])
                else:
                    out.writerow([country, topic, item.id, "opposes", f"I drop {item.name}.", ""])
    args = ["actions", "import", str(path), "--set", name, "--db", db]
    args += ["--instrument", instrument.id]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    return done.output


def truncate_actions(engine: Engine) -> None:
    """Empty the action tables of a PostgreSQL store (a SQLite one is new per test)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE actions, action_sets RESTART IDENTITY CASCADE")


def pairs_of(page: httpx.Response) -> dict[str, dict[str, str]]:
    """Item → place → action text, as the choice page shows them."""
    found: dict[str, dict[str, str]] = {}
    for item, place, text in PAIR.findall(page.text):
        found.setdefault(item, {})[place] = html.unescape(text)
    return found


#: Picks the inclination to choose for an item: "expresses" or "opposes".
Chooser = Callable[[str], str]


def keeps(item: str) -> str:
    return "expresses"


def place_for(texts: dict[str, str], inclination: str) -> str:
    """The place of the action with INCLINATION among TEXTS (place → text)."""
    word = "I keep" if inclination == "expresses" else "I drop"
    return next(place for place, text in texts.items() if text.startswith(word))


def choose_all(walker: Walker, choose: Chooser = keeps) -> list[tuple[str, str, str]]:
    """Answer every choice page; (item, inclination shown first, place chosen) in order."""
    start = walker.web.get("/choices")
    assert start.status_code == 303, start.text
    url = start.headers["location"]
    seen: list[tuple[str, str, str]] = []
    while url.startswith("/choice/"):
        pairs = pairs_of(walker.get(url))
        assert pairs, url
        data = {}
        for item, texts in pairs.items():
            place = place_for(texts, choose(item))
            first = "expresses" if texts["1"].startswith("I keep") else "opposes"
            seen.append((item, first, place))
            data[f"c_{item}"] = place
        reply = walker.post(url, data)
        assert reply.status_code == 303, reply.text
        url = reply.headers["location"]
    assert url == "/open"
    return seen
