"""Results others can load: ``runs export`` and ``survey export`` as Parquet, and runs, surveys
and instruments as dataset folders that ``datasets.load_dataset`` reads back, row for row and
type for type."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result
from datasets import Features, Value, load_dataset

from _survey_support import TOKEN, Walker, client
from valuecompass.cli import main
from valuecompass.export import MARK, ExportError, write_parquet
from valuecompass.instrument import Instrument, load_instrument
from valuecompass.store import open_store
from valuecompass.store import runs as store

DATA = Path(__file__).parent / "data"
ODD_FILE = DATA / "odd_instrument.yaml"
GRID = ["--where", "country=india", "--where", "scenario=education", "--variants", "0,3",
        "--items", "honest,wealth,humble", "--no-progress"]  # fmt: skip
S, N, F = Value("string"), Value("int64"), Value("float64")
#: The answer table's columns and the type each must come back as.
ANSWERS = Features({"source": S, "country": S, "scenario": S, "value": S, "respondent": S,
                    "variant": N, "sample": N, "raw": S, "code": S, "position": F, "missing": S,
                    "expected": F, "probs": S})  # fmt: skip
PROMPTS = Features({"country": S, "scenario": S, "item": S, "variant": N, "sample": N, "raw": S,
                    "error": S, "latency": F, "attempts": N, "prompt_tokens": N,
                    "completion_tokens": N})  # fmt: skip


def _invoke(*args: Any) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _ok(*args: Any) -> str:
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def _plain(value: Any) -> Any:
    """A cell as plain data: a missing value (NaN, <NA>, None) as None."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _load(folder: Path, *args: str, **kwargs: Any) -> Any:
    """``datasets.load_dataset(FOLDER, ...)`` with a cache of the test's own, beside FOLDER."""
    return load_dataset(str(folder), *args, cache_dir=str(folder.parent / "hf-cache"), **kwargs)


def _card(folder: Path) -> dict[str, Any]:
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    meta: dict[str, Any] = yaml.safe_load(text[4 : text.index("\n---\n", 4)])
    return meta


def _same_rows(folder: Path, config: str, expected: pd.DataFrame, features: Features) -> None:
    """The CONFIG table of the dataset at FOLDER, as datasets loads it, is EXPECTED exactly:
    the same columns in order, each of the type FEATURES says, the same rows in order."""
    loaded = _load(folder, config, split="train")
    assert loaded.features == features
    assert list(expected.columns) == list(features)
    assert loaded.to_list() == _rows(expected)


def test_a_run_round_trips_through_load_dataset(tmp_path: Path) -> None:
    db, out = tmp_path / "s.db", tmp_path / "hf"
    _ok("run", "--model", "mock", *GRID, "--db", db, "--run", "m")
    with open_store(db, create=False).connect() as conn:  # one failed prompt, no counts
        conn.exec_driver_sql(
            "update prompts set error = 'timed out', completion_tokens = null, latency = null"
            " where id = 2"
        )
        conn.exec_driver_sql("update prompts set prompt_tokens = 7 where id = 3")
        conn.commit()
    said = _ok("export", "hf", out, "--db", db, "--run", "m")
    assert said.strip() == f"run m: 7 files written to {out}"
    engine = open_store(db, create=False)
    record = store.get_run(engine, "m")
    assert record is not None
    answers, prompts = store.run_answers(engine, record), store.run_prompts(engine, record)
    assert len(answers) == len(prompts) == 6  # 3 items x 2 variants
    _same_rows(out, "answers", answers, ANSWERS)
    _same_rows(out, "prompts", prompts, PROMPTS)
    default = _load(out, split="train")  # the answers are the folder's first table
    assert default.num_rows == 6 and default.features == ANSWERS
    loaded = _load(out, "prompts", split="train").to_list()
    assert [r["completion_tokens"] for r in loaded] == [1, None, 1, 1, 1, 1]  # the mock's 1
    assert [r["prompt_tokens"] for r in loaded] == [None, None, 7, None, None, None]
    assert loaded[1]["error"] == "timed out" and loaded[1]["latency"] is None
    # the card: Hugging Face's configs block, the licence left for the user, words of the form
    meta = _card(out)
    assert meta["license"] is None and "license: left for you" in (out / "README.md").read_text()
    files = json.loads((out / MARK).read_text())["files"]
    paths = [f for f in files if f.startswith("data/")]
    assert [p.split("-")[0] for p in paths] == ["data/answers", "data/prompts"]
    assert sorted(p.name for p in (out / "data").iterdir()) == sorted(Path(p).name for p in paths)
    assert meta["configs"] == [
        {"config_name": "answers", "data_files": [{"split": "train", "path": paths[0]}],
         "default": True},
        {"config_name": "prompts", "data_files": [{"split": "train", "path": paths[1]}]},
    ]  # fmt: skip
    assert files[2:] == ["manifest.json", "instrument.yaml", "design.yaml", "README.md", MARK]
    assert "the model's rating of one value in one context" in (out / "README.md").read_text()
    # the instrument, design and manifest, whole
    inst = Instrument.model_validate(yaml.safe_load((out / "instrument.yaml").read_text()))
    assert inst == load_instrument("value_form")
    assert yaml.safe_load((out / "design.yaml").read_text()) == record.prompt_design
    assert json.loads((out / "manifest.json").read_text()) == record.summary()


@pytest.mark.slow
def test_a_run_of_the_bundled_model_round_trips(tmp_path: Path) -> None:
    db, out = tmp_path / "s.db", tmp_path / "hf"
    _ok("run", "--model", "local", "-M", "threads=1", "--where", "country=india", "--where",
        "scenario=education", "--variants", "0", "--items", "honest,wealth", "--max-tokens", "2",
        "--no-progress", "--db", db, "--run", "smol")  # fmt: skip
    _ok("export", "hf", out, "--db", db, "--run", "smol")
    engine = open_store(db, create=False)
    record = store.get_run(engine, "smol")
    assert record is not None
    answers, prompts = store.run_answers(engine, record), store.run_prompts(engine, record)
    _same_rows(out, "answers", answers, ANSWERS)
    _same_rows(out, "prompts", prompts, PROMPTS)
    loaded = _load(out, "prompts", split="train").to_list()
    assert len(loaded) == 2 and all(r["prompt_tokens"] > 20 for r in loaded)  # the tokenizer's
    assert all(r["completion_tokens"] in (1, 2) for r in loaded)
    probs = _load(out, split="train")["probs"]
    assert all(sum(json.loads(p).values()) == pytest.approx(1.0) for p in probs)  # the options'
    assert probs == list(answers["probs"])


def test_runs_export_as_parquet_reads_back_the_same_table(tmp_path: Path) -> None:
    db, out = tmp_path / "s.db", tmp_path / "a.parquet"
    _ok("run", "--model", "mock", *GRID, "--db", db, "--run", "m")
    assert _ok("runs", "export", "m", "--db", db, "--format", "parquet", "--out", out).strip() == (
        f"6 answers written to {out}"
    )
    engine = open_store(db, create=False)
    record = store.get_run(engine, "m")
    assert record is not None
    expected = store.run_answers(engine, record)
    back = pd.read_parquet(out)
    assert list(back.columns) == list(expected.columns) and _rows(back) == _rows(expected)
    assert str(back["variant"].dtype).lower() == "int64" and back["position"].dtype == float
    refused = _invoke("runs", "export", "m", "--db", db, "--format", "parquet")
    assert refused.exit_code == 2 and "give --out FILE" in refused.output


def test_an_instrument_unlike_the_value_form_exports_the_same_way(tmp_path: Path) -> None:
    out = tmp_path / "odd"
    said = _ok("instrument", "export", "hf", out, "--instrument", ODD_FILE)
    odd = load_instrument(ODD_FILE)
    assert said.strip() == f"instrument {odd.id}: 6 files written to {out}"
    items = _load(out, split="train")
    assert items["id"] == list(odd.item_ids) and items["name"] == [i.name for i in odd.items]
    points = _load(out, "scale_points", split="train").to_list()
    wanted = [(s.id, p.code, p.position, False) for s in odd.rating_scales for p in s.points]
    wanted += [(s.id, m.code, None, True) for s in odd.rating_scales for m in s.missing]
    assert [(p["scale"], p["code"], p["position"], p["missing"]) for p in points] == wanted
    levels = _load(out, "axis_levels", split="train")
    assert set(levels["axis"]) == {a.id for a in odd.axes} and "country" not in levels["axis"]
    assert Instrument.model_validate(yaml.safe_load((out / "instrument.yaml").read_text())) == odd
    card = (out / "README.md").read_text()
    assert f"One row per {odd.item_noun}:" in card and odd.item_noun != "value"
    assert "One row per value" not in card


def test_a_folder_not_ours_is_refused_and_an_earlier_export_is_replaced(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _ok("run", "--model", "mock", *GRID, "--db", db, "--run", "m")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine", encoding="utf-8")
    refused = _invoke("export", "hf", theirs, "--db", db, "--run", "m")
    assert refused.exit_code == 2 and refused.output.count("\n") == 1
    assert "not an earlier ValueCompass export" in refused.output
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.txt"]  # nothing written
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    refused = _invoke("instrument", "export", "hf", a_file)
    assert refused.exit_code == 2 and "a file is there" in refused.output
    assert a_file.read_text() == "x"
    # an earlier export (even of something else) is ours: its licence, as the user filled it
    # in, and the user's own files stay; what the new export does not write goes
    out = tmp_path / "hf"
    _ok("instrument", "export", "hf", out, "--instrument", ODD_FILE)
    card = (out / "README.md").read_text().replace("\nlicense:\n", "\nlicense: cc-by-4.0\n")
    (out / "README.md").write_text(card, encoding="utf-8")
    (out / "LICENSE").write_text("the user's", encoding="utf-8")
    _ok("export", "hf", out, "--db", db, "--run", "m")
    assert _card(out)["license"] == "cc-by-4.0"
    assert (out / "LICENSE").read_text() == "the user's"
    tables = sorted(p.name.split("-")[0] for p in (out / "data").iterdir())
    assert tables == ["answers", "prompts"]  # the instrument's tables are gone
    assert _load(out, split="train").num_rows == 6
    # an empty folder is written into
    empty = tmp_path / "empty"
    empty.mkdir()
    _ok("instrument", "export", "hf", empty)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "say what to export: --run NAME"),
        (["--run", "m", "--survey"], "say what to export"),
        (["--run", "nope"], "no run 'nope'"),
        (["--run", "m", "--include-excluded"], "go with --survey"),
    ],
)
def test_export_hf_refuses_what_it_cannot_do_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    db = tmp_path / "s.db"
    _ok("run", "--model", "mock", *GRID, "--db", db, "--run", "m")
    result = _invoke("export", "hf", tmp_path / "out", "--db", db, *args)
    assert result.exit_code == 2 and message in result.output and result.output.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_without_pyarrow_parquet_is_one_line_saying_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ExportError, match=r"pip install 'valuecompass\[export\]'"):
        write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "a.parquet")
    assert not (tmp_path / "a.parquet").exists()


def _odd_rate(item: str, index: int) -> str:
    from valuecompass.survey import load_content

    odd = load_instrument(ODD_FILE)
    checks = {c.id: c.expected(odd.people_scale) for c in load_content().attention_checks}
    return checks.get(item, ("a", "b", "c", "d", "e", "f", "g", "skip")[index % 8])


def test_a_survey_exports_as_parquet_and_as_a_dataset(tmp_path: Path) -> None:
    db = tmp_path / "survey.db"
    engine = open_store(db)
    try:
        odd = load_instrument(ODD_FILE)
        for region in ("south", "north"):
            web = client(engine, instrument=odd, completion_code="PAID-C0DE")
            Walker(web).complete(region, rate=_odd_rate)
    finally:
        engine.dispose()
    csv, parquet = tmp_path / "people.csv", tmp_path / "people.parquet"
    _ok("survey", "export", "--db", db, "--out", csv)
    said = _ok("survey", "export", "--db", db, "--out", parquet, "--format", "parquet")
    assert said.startswith("18 answers from 2 participants")
    from valuecompass.store import survey as survey_store

    engine = open_store(db, create=False)
    expected = survey_store.human_answers(engine, odd, axes=("region", "setting"))
    assert _rows(pd.read_parquet(parquet)) == _rows(expected)
    assert len(pd.read_csv(csv)) == len(expected) == 18
    out = tmp_path / "hf"
    said = _ok("export", "hf", out, "--survey", "--db", db)
    assert said.strip() == f"survey of {odd.id}: 5 files written to {out}"
    loaded = _load(out, split="train")
    assert loaded.to_list() == _rows(expected)
    assert loaded.features["respondent"] == S and "prolific_pid" not in loaded.features
    assert {f for f, v in loaded.features.items() if v == F} == {"position"}
    studies = json.loads((out / "studies.json").read_text())
    assert studies and all("completion_code" not in s["settings"] for s in studies)
    assert "PAID-C0DE" not in (out / "studies.json").read_text()  # nor the code that pays
    assert TOKEN not in (out / "studies.json").read_text()  # the admin token is never kept
    inst = Instrument.model_validate(yaml.safe_load((out / "instrument.yaml").read_text()))
    assert inst == odd
    assert f"One row per participant and {odd.item_noun}" in (out / "README.md").read_text()


def test_a_new_export_in_the_same_folder_is_read_again_not_served_from_the_cache(
    tmp_path: Path,
) -> None:
    # datasets caches a local folder's tables by the paths its card names: each table's name
    # carries a digest of its bytes, so changed rows are read again
    db, out = tmp_path / "s.db", tmp_path / "hf"
    _ok("run", "--model", "mock", *GRID, "--db", db, "--run", "m")
    _ok("export", "hf", out, "--db", db, "--run", "m")
    assert _load(out, split="train")["code"] == _rows_of(db, "code")
    with open_store(db, create=False).connect() as conn:
        conn.exec_driver_sql("update answers set code = 'x' where id = 1")
        conn.commit()
    _ok("export", "hf", out, "--db", db, "--run", "m")
    again = _load(out, split="train")["code"]
    assert again == _rows_of(db, "code") and again[0] == "x"
    assert len(list((out / "data").iterdir())) == 2  # the earlier tables are gone


def _rows_of(db: Path, column: str) -> list[Any]:
    engine = open_store(db, create=False)
    record = store.get_run(engine, "m")
    assert record is not None
    return list(store.run_answers(engine, record)[column])


def test_a_choice_run_exports_its_choices(tmp_path: Path) -> None:
    db, out = tmp_path / "c.db", tmp_path / "hf"
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "country,topic,value,inclination,action\n"
        "India,Politics,equality,expresses,I vote for equal pay.\n"
        "India,Politics,equality,opposes,I vote to keep pay unequal.\n",
        encoding="utf-8",
    )
    _ok("actions", "import", pairs, "--set", "pairs", "--db", db, "--instrument", "value_actions")
    _ok("run", "--task", "choice", "--actions", "pairs", "--instrument", "value_actions",
        "--model", "mock", "--countries", "India", "--where", "topic=Politics", "--db", db,
        "--run", "ch", "--no-progress")  # fmt: skip
    _ok("export", "hf", out, "--db", db, "--run", "ch")
    engine = open_store(db, create=False)
    record = store.get_run(engine, "ch")
    assert record is not None
    choices = store.run_choices(engine, record)
    assert len(choices) >= 2
    kinds = {"source": S, "country": S, "topic": S, "value": S, "respondent": S,
             "variant": N, "sample": N, "inclination": S, "option": N, "raw": S, "missing": S,
             "p_opposes": F}  # fmt: skip
    _same_rows(out, "answers", choices, Features(kinds))
    assert (
        "One row per choice: the action (expressing or opposing a value)"
        in (out / "README.md").read_text()
    )
    parquet = tmp_path / "c.parquet"
    said = _ok("runs", "export", "ch", "--db", db, "--format", "parquet", "--out", parquet)
    assert said.strip() == f"{len(choices)} choices written to {parquet}"
    assert _rows(pd.read_parquet(parquet)) == _rows(choices)
