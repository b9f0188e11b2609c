"""Issue 14, items 6, 9, 12 and 13: bad answer files, a user's mistakes as one line, output
that is never hard-wrapped, and a ``--help`` that loads nothing heavy."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from _store_support import cli
from valuecompass.cli import main
from valuecompass.instrument import load_instrument

MODEL = "gemma2-9b-it"
REPO = Path(__file__).resolve().parents[1]


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def _one_line(code: int, out: str) -> str:
    assert code == 2, out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1, out
    return out


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mock run of one context (India, healthcare: 448 answers), exported as tidy CSV."""
    folder = tmp_path_factory.mktemp("export")
    db, out = folder / "m.db", folder / "m.csv"
    grid = ["--countries", "India", "--scenarios", "healthcare", "--no-progress"]
    code, text = _invoke("run", "--model", "mock", "--db", str(db), "--run", "m", *grid)
    assert code == 0, text
    code, text = _invoke("runs", "export", "m", "--db", str(db), "--out", str(out))
    assert code == 0, text
    return out


def _align(released: Path, llm: Path | str) -> tuple[int, str]:
    return _invoke("align", "--humans", str(released), "--llm", str(llm), "--format", "json")


def _edit(export: Path, tmp_path: Path, line: int, column: str, value: str) -> Path:
    lines = export.read_text().splitlines()
    header = lines[0].split(",")
    fields = lines[line - 1].split(",")
    fields[header.index(column)] = value
    lines[line - 1] = ",".join(fields)
    out = tmp_path / "edited.csv"
    out.write_text("\n".join(lines) + "\n")
    return out


def test_an_untouched_export_scores_as_its_store(export: Path, released: Path) -> None:
    code, out = _align(released, export)
    assert code == 0, out
    from_csv = json.loads(out[out.index("{") :])
    code, out = _align(released, f"{export.with_suffix('.db')}#m")
    assert from_csv == json.loads(out[out.index("{") :])
    assert from_csv["overall"]["n_contexts"] == 1


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("position", "99", "line 5, column 'position': '99' is off the scale (1 strongly agree"),
        ("position", "abc", "line 5, column 'position': 'abc' is not a number"),
        ("position", "nan", "line 5, column 'position': 'nan' is not a number"),
        ("value", "kindness_xyz", "line 5, column 'value': unknown value 'kindness_xyz'"),
        ("country", "narnia", "line 5, column 'country': unknown country 'narnia'"),
        ("scenario", "cooking", "line 5, column 'scenario': unknown scenario 'cooking'"),
        ("variant", "two", "line 5, column 'variant': 'two' is not a whole number"),
    ],
)
def test_a_bad_row_in_a_tidy_csv_is_refused_by_file_line_and_column(
    export: Path, released: Path, tmp_path: Path, column: str, value: str, message: str
) -> None:
    bad = _edit(export, tmp_path, 5, column, value)
    out = _one_line(*_align(released, bad))
    assert f"{bad} {message}" in out


def test_a_duplicated_answer_is_refused(export: Path, released: Path, tmp_path: Path) -> None:
    lines = export.read_text().splitlines()
    twice = tmp_path / "twice.csv"
    twice.write_text("\n".join(lines + lines[1:]) + "\n")  # every answer twice
    out = _one_line(*_align(released, twice))
    assert f"{twice} line {len(lines) + 1}: the same answer as line 2" in out


def test_a_header_without_rows_is_refused(export: Path, released: Path, tmp_path: Path) -> None:
    """Issue 23, item 7: a tidy CSV with its header and no row is one line, exit 2 (it used to
    align as ``0/0 ... (nan%)`` with exit 0)."""
    empty = tmp_path / "empty.csv"
    empty.write_text(export.read_text().splitlines()[0] + "\n")
    code, out = _align(released, empty)
    assert code == 2
    assert (
        _one_line(code, out).strip()
        == f"error: {empty}: no answers: the file has a header and no rows"
    )


def test_a_code_that_contradicts_its_position_is_refused(
    export: Path, released: Path, tmp_path: Path
) -> None:
    """Item 7: line 5's code is one point of the scale; a position of another point is refused,
    naming line and column, and so is a missing code beside a position."""
    with export.open(newline="") as f:
        line5 = list(csv.DictReader(f))[3]
    scale = load_instrument().scale_for("svs")
    codes = {p.code: pos for p, pos in zip(scale.points, scale.positions, strict=True)}
    assert codes[line5["code"]] == float(line5["position"])  # the export agrees with itself
    other = next(c for c in codes if c != line5["code"])
    bad = _edit(export, tmp_path, 5, "position", f"{codes[other]:g}")
    out = _one_line(*_align(released, bad))
    assert f"{bad} line 5, column 'code': '{line5['code']}' is position " in out
    assert f"but column 'position' says {codes[other]:g}" in out
    people = load_instrument().people_scale
    person = {**line5, "source": "humans", "respondent": "r1", "variant": "", "sample": ""}
    person.update(code=people.missing[0].code, position="1")
    bad = tmp_path / "person.csv"
    with bad.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(line5))
        writer.writeheader()
        writer.writerow(person)
    out = _one_line(*_align(released, bad))
    said = f"line 2, column 'code': '{people.missing[0].code}' is a missing code of scale"
    assert f"{bad} {said} '{people.id}', but column 'position' says 1" in out


def test_a_position_with_a_missing_reason_is_refused(
    export: Path, released: Path, tmp_path: Path
) -> None:
    bad = _edit(export, tmp_path, 5, "missing", "irrelevant")
    out = _one_line(*_align(released, bad))
    assert f"{bad} line 5, column 'missing': 'irrelevant' beside position " in out
    assert "a position or a missing reason, not both" in out


def test_the_summary_counts_only_rows_with_a_position(
    export: Path, released: Path, tmp_path: Path
) -> None:
    blank = _edit(export, tmp_path, 5, "position", "")  # no position, and no reason given
    result = CliRunner().invoke(main, ["align", "--humans", str(released), "--llm", str(blank)])
    assert result.exit_code == 0, result.output
    assert f"{blank}: 1 file(s), 448 answers, 447 scored; missing: no_position 1" in result.stderr


def test_a_tidy_csv_without_its_country_column_is_one_line(
    export: Path, released: Path, tmp_path: Path
) -> None:
    lines = [",".join(f for i, f in enumerate(line.split(",")) if i != 1) for line in
             export.read_text().splitlines()[:3]]  # fmt: skip
    bad = tmp_path / "no_country.csv"
    bad.write_text("\n".join(lines) + "\n")
    out = _one_line(*_align(released, bad))
    assert f"{bad}: not a tidy answer file; missing column(s): country" in out


def test_files_that_are_not_utf8_name_the_file(released: Path, tmp_path: Path) -> None:
    llm = str(released / "llm_outputs" / MODEL)
    people = tmp_path / "human_S1_Healthcare.csv"
    people.write_bytes(b"PID,location,Ambitious\n1,India,\xe9\n")
    yaml_file = tmp_path / "latin1.yaml"
    yaml_file.write_bytes(b"name: caf\xe9\n")
    report = str(tmp_path / "r.html")
    for args, where in (
        (["align", "--humans", str(people), "--llm", llm], f"{people} line 2: not UTF-8"),
        (["align", "--humans", str(released), "--llm", str(people)], f"{people} line 2"),
        (["profile", "--llm", str(people)], f"{people} line 2: not UTF-8"),
        (["rigor", "ceiling", "--humans", str(people), "--llm", llm], f"{people} line 2"),
        (["report", "--humans", str(people), "--llm", llm, "--out", report], f"{people} line 2"),
        (["report", "--llm", str(people), "--out", report], f"{people} line 2: not UTF-8"),
        (["form", "show", "--instrument", str(yaml_file)], f"{yaml_file} line 1: instrument file"),
        (
            ["run", "--model", "mock", "--prompts", str(yaml_file)],
            f"{yaml_file} line 1: prompt file",
        ),
        (["code", "codebook", "--codebook", str(yaml_file)], f"{yaml_file} line 1: codebook"),
    ):
        out = _one_line(*_invoke(*args))
        assert where in out, (args, out)
    assert not Path(report).exists()


def test_a_users_mistakes_are_one_line(tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    for args, words in (
        (["run", "--model", "openai:m", "--base-url", "http://[::1", "--db", db],
         "'http://[::1' is not a valid URL"),
        (["run", "--model", "local:not-a-model.bin", "--db", db], "not-a-model.bin"),
        (["rigor", "irrelevant-prompts", "/no/such.yaml"], "/no/such.yaml: cannot write"),
        (["run", "--model", "mock", "--variants", "99", "--db", db], "no prompt variant 99"),
        (["run", "--model", "mock", "--db", "/no/such/x.db"], "no such folder /no/such"),
    ):  # fmt: skip
        out = _one_line(*_invoke(*args))
        assert words in out, (args, out)
    assert not Path(db).exists()


def test_smaller_input_mistakes(released: Path, tmp_path: Path) -> None:
    llm = str(released / "llm_outputs" / MODEL)
    not_sqlite = tmp_path / "notsqlite.db"
    not_sqlite.write_text("hello\n")
    out = _one_line(*_invoke("align", "--humans", str(released), "--llm", f"{not_sqlite}#x"))
    assert f"{not_sqlite}: not a SQLite file" in out
    people = released / "humans" / "human_S1_Collaborative_Writing.csv"
    out = _one_line(*_invoke("align", "--humans", str(released), "--llm", str(people)))
    assert f"{people}: looks like people's answers" in out and "--humans" in out
    header = people.read_text().splitlines()[0].split(",")
    twice = tmp_path / "human_S1_Collaborative_Writing.csv"
    value = next(c for c in header if c not in ("PID", "location", "age", "gender"))
    twice.write_text(
        ",".join([*header, value]) + "\n" + "1,India" + ",1" * (len(header) - 1) + ",1\n"
    )
    out = _one_line(*_invoke("align", "--humans", str(twice), "--llm", llm))
    assert f"{twice} line 1: column {value!r} appears more than once" in out
    codes = tmp_path / "codes_in.csv"
    codes.write_text("respondent,topic,question,themes,themes\nr1,healthcare,q_conflict,a,b\n")
    out = _one_line(*_invoke("code", "import", str(codes), "--coder", "x",
                             "--codes", str(tmp_path / "codes.csv")))  # fmt: skip
    assert f"{codes} line 1: column 'themes' appears more than once" in out


def test_the_licence_is_the_apache_licence() -> None:
    text = (REPO / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert 'license = { text = "Apache-2.0" }' in (REPO / "pyproject.toml").read_text()


def test_a_summary_through_a_pipe_is_never_wrapped(released: Path, tmp_path: Path) -> None:
    deep = tmp_path / ("a-folder-with-a-long-name-" * 5)  # a path of over 130 characters
    deep.mkdir()
    llm = deep / MODEL
    llm.symlink_to(released / "llm_outputs" / MODEL, target_is_directory=True)
    done = cli("align", "--humans", str(released / "humans"), "--llm", str(llm))
    assert done.returncode == 0, done.stderr
    summary = f"{llm}: 36 file(s), 12544 answers, 12517 scored; missing: irrelevant 19"
    assert len(summary) > 150
    assert any(line.startswith(summary) for line in done.stderr.splitlines()), done.stderr


HEAVY = ("pandas", "numpy", "sqlalchemy", "llama_cpp", "torch")
HELP_CHECK = """
import sys
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
for args in {commands!r}:
    try:
        main(args, standalone_mode=False)
    except SystemExit:
        pass
print("loaded:", ",".join(m for m in {heavy!r} if m in sys.modules))
"""


def test_help_loads_no_database_driver_dataframe_or_model_runtime() -> None:
    commands = [["--help"]]
    commands += [[name, "--help"] for name in main.list_commands(None)]  # type: ignore[arg-type]
    commands += [["runs", "list", "--help"], ["survey", "serve", "--help"], ["rigor", "--help"]]
    script = HELP_CHECK.format(commands=commands, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=_env())  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
    assert done.stdout.splitlines()[-1] == "loaded: ", done.stdout.splitlines()[-1]


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{path}"}


def test_survey_content_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "content.yaml"
    bad.write_bytes(b"title: ok\nconsent_label: \xff\xfe\n")
    result = CliRunner().invoke(
        main, ["survey", "serve", "--content", str(bad), "--db", str(tmp_path / "s.db")]
    )
    assert result.exit_code == 2
    assert f"{bad} line 2: survey content is not UTF-8 text" in result.output


#: Every command that reads or writes answers (or a design checked against an instrument).
ANSWER_COMMANDS = [
    ["run"], ["align"], ["profile"], ["report"], ["plan"], ["instrument", "show"],
    ["rigor", "ceiling"], ["rigor", "ranks"], ["rigor", "sensitivity"],
    ["rigor", "distributions"], ["rigor", "significance"], ["rigor", "irrelevant"],
    ["rigor", "irrelevant-prompts"], ["rigor", "reliability"], ["rigor", "structure"],
    ["rigor", "steer"], ["code", "import"], ["code", "run"], ["survey", "serve"],
    ["survey", "export"],
]  # fmt: skip


@pytest.mark.parametrize("command", ANSWER_COMMANDS, ids=" ".join)
def test_instrument_option_is_the_same_everywhere(command: list[str]) -> None:
    code, out = _invoke(*command, "--help")
    assert code == 0, out
    flat = " ".join(out.split())  # click wraps help text to the terminal
    assert "--instrument ID|PATH A bundled instrument's id (see 'valuecompass instrument " in flat
    assert "list') or an instrument YAML file; if omitted, the one kept by the store the " in flat
    assert "command reads answers from (a run's, a survey study's), else the Value Form." in flat
    assert "Value Form YAML" not in flat
