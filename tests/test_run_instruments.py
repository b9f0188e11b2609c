"""`valuecompass run --instrument` for every bundled instrument and an odd test-only one, with
the mock and the bundled model: options from each scale, one export column per axis."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.models import get_backend
from valuecompass.runner import RunConfig, run_model
from valuecompass.store import open_store
from valuecompass.store import runs as store

DATA = Path(__file__).parent / "data"
ODD = DATA / "odd_instrument.yaml"
ODD_PROMPTS = DATA / "odd_prompts.yaml"
ONE = ["--countries", "India", "--scenarios", "healthcare", "--variants", "0", "--no-progress"]


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _export(db: Path, run: str) -> pd.DataFrame:
    code, out, err = _cli("runs", "export", run, "--db", str(db))
    assert code == 0, err
    return pd.read_csv(io.StringIO(out), dtype={"code": str})


@pytest.mark.parametrize(
    ("instrument", "extra", "contexts"),
    [
        ("value_form", [], 1),
        ("schwartz_refined", [], 1),
        ("moral_foundations", [], 1),
        ("value_form_multilingual", ["--where", "language=de,fr"], 2),
    ],
)
def test_every_bundled_instrument_runs_with_the_mock(
    tmp_path: Path, instrument: str, extra: list[str], contexts: int
) -> None:
    db = tmp_path / "s.db"
    form = load_instrument(instrument)
    code, _out, err = _cli("run", "--instrument", instrument, "--model", "mock", "--mode", "all",
                          "--db", str(db), "--run", "r", *ONE, *extra)  # fmt: skip
    assert code == 0 and err == "", err
    table = _export(db, "r")
    assert len(table) == len(form.items) * contexts and table["position"].notna().all()
    asked = form.scale_for(form.wording_ids[0])  # variant 0 asks the first style's wording
    assert set(table["code"]) <= set(asked.codes) and len(set(table["code"])) > 1
    assert set(table["position"]) <= set(asked.positions)
    if contexts == 2:  # each language's form answered with the names that language showed
        assert sorted(set(table["language"])) == ["de", "fr"]
    else:
        assert "language" not in table.columns


def test_run_flags_old_names_and_bad_axes(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    code, _out, err = _cli("run", "--model", "mock", "--mode", "form", "--topics", "healthcare",
                           "--countries", "India", "--variants", "0", "--db", db)  # fmt: skip
    assert code == 0, err
    assert "--topics is deprecated; use --scenarios" in err and "--mode all" in err
    for args, message in [
        (["--where", "planet=mars"], "no axis 'planet'; axes: country, scenario"),
        (["--where", "scenario=cooking"], "--where scenario: unknown scenario 'cooking'"),
        (["--where", "language"], "--where takes AXIS=LEVEL"),
        (["--instrument", "moral_foundations", "--items", "ambitious"], "--items: unknown"),
    ]:
        code, _out, err = _cli("run", "--model", "mock", "--db", db, *args)
        assert code == 2 and message in err, (args, err)


def test_an_odd_instrument_runs_with_no_special_case(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    base = ["--instrument", str(ODD), "--prompts", str(ODD_PROMPTS), "--model", "mock",
            "--db", str(db), "--no-progress", "--where", "tone=casual"]  # fmt: skip
    code, _out, err = _cli("run", *base, "--mode", "item", "--run", "items", "--variants", "0,2")
    assert code == 0, err
    table = _export(db, "items")
    # 2 regions x 2 settings x 1 tone x 2 variants x 9 items
    assert len(table) == 2 * 2 * 2 * 9 and table["position"].between(1, 7).all()
    for axis in ("region", "setting", "tone"):  # one column per axis
        assert axis in table.columns
    assert set(table["tone"]) == {"casual"} and set(table["setting"]) == {"shop", "farm"}
    assert set(table["region"]) == {"north", "south"}
    code, _out, err = _cli("run", *base, "--mode", "all", "--run", "forms", "--variants", "3")
    assert code == 0, err
    forms = _export(db, "forms")
    assert len(forms) == 4 * 9 and forms["position"].notna().all()
    engine = open_store(db, create=False)
    record = store.get_run(engine, "forms")
    engine.dispose()
    assert record is not None and record.grid.axes["tone"] == ["casual"]
    assert record.instrument_spec is not None and record.instrument_spec["id"] == "odd_test"
    assert record.prompt_design is not None and record.prompt_design["name"] == "odd design"


def test_the_bundled_model_answers_every_instrument(tmp_path: Path) -> None:
    """A few prompts each, item mode: whatever it says is stored, and read on each scale."""
    backend = get_backend("local")
    db = str(tmp_path / "s.db")
    cases = [
        ("value_form", None, {}),
        ("schwartz_refined", None, {}),
        ("moral_foundations", None, {}),
        ("value_form_multilingual", None, {"language": ["de"]}),
        (str(ODD), ODD_PROMPTS, {"tone": ["formal"], "region": ["north"], "setting": ["farm"]}),
    ]
    try:
        for source, design, where in cases:
            form = load_instrument(source)
            two = [i.id for i in form.items[:2]]
            first = form.axes[0].level_ids[0]
            where = {form.axes[0].id: [first], **where} if form.axes[0].id not in where else where
            scenarios = [] if source == str(ODD) else ["healthcare"]
            config = RunConfig(model="local", db=db, mode="item", items=two, variants=[0],
                               where=where, instrument_path=Path(source), prompts_path=design,
                               progress=False, scenarios=scenarios)  # fmt: skip
            summary = run_model(config, backend)
            assert summary.asked == 2 and summary.failed == 0, (source, summary.text())
            engine = open_store(db, create=False)
            table = store.run_answers(engine, summary.run)
            engine.dispose()
            assert len(table) == 2 and (table["raw"] != "").all()
            scored = table["position"].dropna()
            assert scored.isin(form.scale_for(form.wording_ids[0]).positions).all()
            probs = table["probs"].dropna()
            assert len(probs) == 2  # option probabilities over that scale's codes
    finally:
        backend.close()
