"""Issue 21, item 1: 40 simulated annotators take a review study on a real ``survey serve
--study review --actions SET`` process at once, judging in a known pattern. Twelve actions
with three judgements each: every action ends with exactly three, from three annotators;
``survey export --reviews`` writes the judgements of the pattern, and ``actions review-report``
gives shares, Fleiss' kappa and Krippendorff's alpha that match a hand computation from that
pattern to 1e-12.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import select

import _survey_support as support
from _choice_support import truncate_actions
from _review_support import ACTIONS, ITEMS, SET, review_set
from valuecompass.cli import main
from valuecompass.store import open_store
from valuecompass.store.actions import actions
from valuecompass.store.reviews import CRITERIA
from valuecompass.testing import survey_load as load

pg_database, store_url = support.pg_database, support.store_url
PLACE = {item: i for i, item in enumerate(ITEMS)}
#: The set's actions: id → (country, item, inclination), read once the set is imported.
Where = Mapping[int, tuple[str, str, str]]


def pattern(country: str, item: str, inclination: str, salt: int) -> dict[str, str]:
    """Annotator SALT's judgements of the action of ITEM with INCLINATION in COUNTRY."""
    no = {
        "intended": (item == "honest" and inclination == "opposes")
        or (country == "germany" and item == "helpful" and salt % 2 == 0),
        "harmless": salt % 3 == 0,
        "sufficient": (salt + PLACE[item]) % 4 == 0
        or (country == "india" and item == "ambitious" and inclination == "expresses"),
        "plausible": (item == "helpful" and inclination == "opposes") or salt % 7 == 0,
    }
    return {c: "no" if no[c] else "yes" for c in CRITERIA}


@pytest.fixture
def study(store_url: str, tmp_path: Path) -> Iterator[tuple[int, dict[int, tuple[str, str, str]]]]:
    engine = open_store(store_url)
    truncate_actions(engine)
    review_set(store_url, tmp_path)
    with engine.connect() as conn:
        rows = conn.execute(select(actions.c.id, actions.c.country, actions.c.item,
                                   actions.c.inclination))  # fmt: skip
        where = {int(r[0]): (str(r[1]), str(r[2]), str(r[3])) for r in rows}
    engine.dispose()
    assert len(where) == 12
    port = load.free_port()
    args = ["--instrument", ACTIONS.id, "--study", "review", "--actions", SET]
    args += ["--reviews-per-action", "3", "--actions-per-annotator", "1"]
    args += ["--reviews-per-page", "1", "--quota", "20", "--scenario", "politics"]
    args += ["--no-access-log", "--min-form-seconds", "0", *load.NO_HOLD_LIMITS]
    proc = load.start_server(store_url, port, *args, log=tmp_path / "server.log")
    yield port, where
    proc.terminate()
    proc.wait()


def _fleiss(counts: list[tuple[int, int]]) -> float:
    """Fleiss' kappa of (no, yes) counts per action, each with the same number of raters."""
    n = sum(counts[0])
    agree = [(no * no + yes * yes - n) / (n * (n - 1)) for no, yes in counts]
    p_bar = sum(agree) / len(agree)
    p_yes = sum(yes for _, yes in counts) / (n * len(counts))
    p_e = p_yes**2 + (1 - p_yes) ** 2
    return (p_bar - p_e) / (1 - p_e)


def _alpha(counts: list[tuple[int, int]]) -> float:
    """Krippendorff's nominal alpha of (no, yes) counts per action (two values)."""
    total = sum(no + yes for no, yes in counts)
    observed = sum(no * yes / (no + yes - 1) for no, yes in counts)  # o(no, yes)
    n_no, n_yes = sum(no for no, _ in counts), sum(yes for _, yes in counts)
    return 1 - (total - 1) * observed / (n_no * n_yes)


def test_forty_annotators_leave_every_action_with_three_judgements_in_the_pattern(
    study: tuple[int, dict[int, tuple[str, str, str]]], store_url: str, tmp_path: Path
) -> None:
    port, where = study

    def judge(action_id: int, text: str, salt: int) -> dict[str, str]:
        country, item, inclination = where[action_id]
        word = "keep" if inclination == "expresses" else "drop"
        assert text.startswith(f"I {word} "), text  # the action shown is the one dealt
        return pattern(country, item, inclination, salt)

    async def crowd() -> list[str]:
        runs = [load.take_part(port, load.prolific_id("review", i),
                               "india" if i % 2 else "germany", instrument=ACTIONS, salt=i,
                               scenario="politics", judge=judge)
                for i in range(40)]  # fmt: skip
        return list(await asyncio.gather(*runs))

    assert asyncio.run(crowd()) == ["/done"] * 40
    out, reviews, people = (tmp_path / f"{n}.csv" for n in ("answers", "reviews", "people"))
    args = ["survey", "export", "--db", store_url, "--instrument", ACTIONS.id, "--out", str(out)]
    args += ["--reviews", str(reviews), "--participants", str(people)]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert "36 reviews written" in done.output
    table = pd.read_csv(reviews, dtype=str, keep_default_na=False)
    assert list(table.columns) == ["country", "topic", "value", "inclination", "action_id",
                                   "action", "respondent", *CRITERIA, "comment"]  # fmt: skip
    per_action = table.groupby("action_id").size()
    assert len(per_action) == 12 and set(per_action) == {3}  # every action exactly three
    assert table["respondent"].nunique() == 36  # one action each; four found none left
    assert not table.duplicated(["action_id", "respondent"]).any()
    listed = pd.read_csv(people, dtype=str, keep_default_na=False)
    salt = {r: int(p[8:], 16) for r, p in zip(listed["respondent"], listed["prolific_pid"],
                                              strict=True)}  # fmt: skip
    assert sorted(salt.values()) == list(range(40))
    counts: dict[str, list[tuple[int, int]]] = {c: [] for c in CRITERIA}
    for action_id, group in table.groupby("action_id"):
        country, item, inclination = where[int(str(action_id))]
        assert set(group["country"]) == {country} and set(group["value"]) == {item}
        assert set(group["inclination"]) == {inclination}
        for c in CRITERIA:
            expected = [
                pattern(country, item, inclination, salt[r])[c] for r in group["respondent"]
            ]
            assert list(group[c]) == expected
            yes = expected.count("yes")
            counts[c].append((3 - yes, yes))

    report = ["actions", "review-report", SET, "--db", store_url, "--format", "json"]
    got = CliRunner().invoke(main, report)
    assert got.exit_code == 0, got.output
    summary = json.loads(got.output)
    assert summary["reviews"] == 36 and summary["actions"] == 12 and summary["reviewers"] == 36
    by = {c["criterion"]: c for c in summary["criteria"]}
    for c in CRITERIA:
        yes = sum(y for _, y in counts[c])
        assert by[c]["judgements"] == 36 and by[c]["yes"] == yes
        assert abs(by[c]["share"] - yes / 36) < 1e-12
        assert by[c]["kappa_actions"] == 12 and by[c]["kappa_raters"] == 3
        assert 0 < yes < 36  # the pattern gives both answers on every criterion
        assert abs(by[c]["kappa"] - _fleiss(counts[c])) < 1e-12, c
        assert abs(by[c]["alpha"] - _alpha(counts[c])) < 1e-12, c
