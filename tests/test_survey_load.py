"""The load driver simulates participants for any instrument, in any of its languages, against a
real ``survey serve`` process; ``survey export`` then gives the same codes whatever the language.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import _survey_support as support
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.testing import survey_load as load

pg_database, store_url = support.pg_database, support.store_url


@pytest.fixture
def serve(store_url: str, tmp_path: Path) -> Iterator[object]:
    procs = []

    def start(instrument: str) -> int:
        port = load.free_port()
        args = ["--instrument", instrument, "--min-form-seconds", "0", "--no-access-log"]
        args += load.NO_HOLD_LIMITS  # every simulated participant comes from loopback
        procs.append(load.start_server(store_url, port, *args, log=tmp_path / "server.log"))
        return port

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait()


def _export(store_url: str, instrument: str, out: Path) -> pd.DataFrame:
    args = ["survey", "export", "--db", store_url, "--instrument", instrument, "--out", str(out)]
    args += ["--participants", str(out.with_suffix(".people.csv"))]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return pd.read_csv(out, dtype=str, keep_default_na=False)


def test_simulated_german_and_english_participants_export_the_same_codes(
    serve: object, store_url: str, tmp_path: Path
) -> None:
    name = "value_form_multilingual"
    port = serve(name)  # type: ignore[operator]

    async def crowd() -> list[str]:
        return [
            await load.take_part(port, load.prolific_id(lang), "germany",
                                 instrument=load_instrument(name), lang=lang, salt=3)
            for lang in ("de", "en", "fr")
        ]  # fmt: skip

    assert asyncio.run(crowd()) == ["/done"] * 3
    table = _export(store_url, name, tmp_path / "answers.csv")
    people = pd.read_csv(tmp_path / "answers.people.csv", dtype=str, keep_default_na=False)
    assert list(people["language"]) == ["de", "en", "fr"]
    by = {r: dict(zip(g["value"], g["raw"], strict=True)) for r, g in table.groupby("respondent")}
    de, en, fr = by["survey-1"], by["survey-2"], by["survey-3"]
    assert len(de) == 56 and de == en == fr
    # item i of the instrument got code (3 + i) mod 6 of ("2", "1", "0", "-1", "-2", "irrelevant")
    assert de["ambitious"] == "-1" and set(de.values()) == {"2", "1", "0", "-1", "-2", "irrelevant"}
    assert set(people["exclusion"]) == {""}  # attention checks passed in every language


@pytest.mark.parametrize("name", ["schwartz_refined", "moral_foundations"])
def test_simulated_participants_take_another_instrument(
    serve: object, store_url: str, tmp_path: Path, name: str
) -> None:
    inst = load_instrument(name)
    port = serve(name)  # type: ignore[operator]

    async def crowd() -> list[str]:
        runs = [
            load.take_part(port, load.prolific_id("p", i), country, instrument=inst, salt=i)
            for i, country in enumerate(("india", "france", "canada"))
        ]
        return list(await asyncio.gather(*runs))

    assert asyncio.run(crowd()) == ["/done"] * 3
    table = _export(store_url, name, tmp_path / "answers.csv")
    assert len(table) == 3 * len(inst.items)
    assert set(table["raw"]) == {*inst.people_scale.codes, *inst.people_scale.missing_codes}
    people = pd.read_csv(tmp_path / "answers.people.csv", dtype=str, keep_default_na=False)
    assert set(people["exclusion"]) == {""} and set(people["attention_failed"]) == {"0"}
