"""The CLI's shared parts: option blocks that behave the same on every command that takes
them, ``run``'s options becoming a RunConfig, and the old spellings still accepted (each with
its one note, all read in ``cli/_old_names.py``)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from valuecompass.cli import main
from valuecompass.cli.run import BACKEND_OPTIONS, DRY_OPTIONS, run_command, run_config
from valuecompass.instrument import bundled_ids
from valuecompass.runner import RunConfig

CLI = Path(__file__).resolve().parents[1] / "src" / "valuecompass" / "cli"
BUNDLED = CLI.parent / "instrument" / "data"
ONE = ["--countries", "India", "--scenarios", "healthcare", "--variants", "0", "--no-progress"]


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


#: A command of each kind that takes --instrument, with what else it needs to start.
INSTRUMENT_COMMANDS = [
    ["run", "--model", "mock"],
    ["align", "--humans", "h", "--llm", "m"],
    ["profile", "--llm", "m"],
    ["plan", "--half-width", "0.1", "--humans", "h", "--llm", "m"],
    ["report", "--llm", "m", "--out", "r.html"],
    ["rigor", "ceiling", "--humans", "h", "--llm", "m"],
    ["rigor", "irrelevant", "--humans", "h", "--llm", "m"],
    ["rigor", "reliability", "--humans", "h", "--llm", "m"],
    ["rigor", "irrelevant-prompts", "out.yaml"],
    ["code", "import", __file__, "--coder", "x"],
    ["survey", "export", "--out", "o.csv"],
    ["instrument", "show"],
    ["gap", "--stated", "s", "--acted", "a"],
]


@pytest.mark.parametrize("command", INSTRUMENT_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_instrument_option_refuses_an_unknown_id_alike(command: list[str]) -> None:
    code, out, err = _cli(*command, "--instrument", "no_such")
    assert code == 2, (out, err)
    assert err.strip().splitlines() == [
        f"error: no_such: no such instrument file; bundled ids: {', '.join(bundled_ids())}"
    ]


@pytest.mark.parametrize("command", INSTRUMENT_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_instrument_option_refuses_a_folder_alike(command: list[str]) -> None:
    code, _out, err = _cli(*command, "--instrument", str(BUNDLED))
    assert code == 2
    assert f"Invalid value for '--instrument': File '{BUNDLED}' is a directory." in err


def test_an_instrument_by_id_and_by_file_is_the_same_instrument(tmp_path: Path) -> None:
    by_file = str(BUNDLED / "moral_foundations.yaml")
    shown = [_cli("instrument", "show", "--instrument", i, "--format", "json")[1]
             for i in ("moral_foundations", by_file)]  # fmt: skip
    assert shown[0] == shown[1] and json.loads(shown[0])["id"] == "moral_foundations"
    db = str(tmp_path / "s.db")
    args = ["run", "--model", "mock", "--db", db, *ONE, "--items", "care_1,care_2"]
    code, out, err = _cli(*args, "--instrument", "moral_foundations", "--run", "r")
    assert code == 0 and "2 asked" in out, err
    # the same instrument from its file: the same run, so nothing is asked again
    code, out, err = _cli(*args, "--instrument", by_file, "--run", "r")
    assert code == 0 and "2 already stored" in out and "0 asked" in out, (out, err)


def test_the_run_store_option_reads_its_environment_variable_everywhere(tmp_path: Path) -> None:
    env = {"VALUECOMPASS_DB": str(tmp_path / "env.db")}
    code, out, err = _cli("run", "--model", "mock", *ONE, "--run", "e", env=env)
    assert code == 0 and f"store: {tmp_path / 'env.db'}" in out, err
    code, out, _ = _cli("runs", "list", "--format", "json", env=env)
    assert code == 0 and [r["name"] for r in json.loads(out)] == ["e"]
    code, out, _ = _cli("runs", "export", "e", env=env)
    assert code == 0 and len(out.splitlines()) == 1 + 56  # a header and one row per value
    code, _out, err = _cli("runs", "show", "e", "--db", str(tmp_path / "other.db"), env=env)
    assert code == 2 and "other.db" in err  # --db given wins over the variable


@pytest.mark.parametrize("command", [["run", "--model", "mock"], ["plan"]], ids=" ".join)
def test_mode_takes_all_and_item_and_names_them_when_refused(command: list[str]) -> None:
    code, _out, err = _cli(*command, "--mode", "every")
    assert code == 2 and "'every' is not one of 'all', 'item'." in err


@pytest.mark.parametrize(
    "command",
    [["rigor", "ceiling"], ["rigor", "steer"], ["rigor", "distributions"], ["code", "counts"]],
    ids=" ".join,
)
def test_format_option_is_the_same_on_rigor_and_code_commands(command: list[str]) -> None:
    code, out, _ = _cli(*command, "--help")
    assert code == 0 and "--format [table|json|csv]" in out and "[default: table]" in out
    code, _out, err = _cli(*command, "--format", "xml")
    assert code == 2 and "'xml' is not one of 'table', 'json', 'csv'." in err


def test_every_run_option_is_a_run_config_field_or_a_backend_option() -> None:
    names = {str(p.name) for p in run_command.params}
    hidden = {str(p.name) for p in run_command.params if getattr(p, "hidden", False)}
    assert hidden == {"old_scenarios", "old_items"}
    assert names - hidden - set(RunConfig.model_fields) == {*BACKEND_OPTIONS, *DRY_OPTIONS}


def test_run_options_become_the_run_config(tmp_path: Path) -> None:
    args = ["--model", "mock", "--countries", "India,France", "--countries", "Germany",
            "--scenarios", "healthcare", "--items", "equality", "--items", "wealth,humble",
            "--variants", "0,2", "--where", "language=de,fr", "--mode", "all", "--samples", "3",
            "--temperature", "0.5", "--max-tokens", "7", "--seed", "4", "--concurrency", "2",
            "--retries", "1", "-M", "threads=2", "--base-url", "http://h/v1", "--run", "r",
            "--prompts", "paper", "--instrument", "moral_foundations", "--no-progress",
            "--executor", "ray", "--ray-address", "auto", "--ray-workers", "2",
            "--db", str(tmp_path / "d.db")]  # fmt: skip
    ctx = run_command.make_context("run", args)
    expected = RunConfig(
        model="mock",
        backend_options={"threads": 2, "base_url": "http://h/v1"},
        db=str(tmp_path / "d.db"),
        run="r",
        mode="all",
        countries=["India", "France", "Germany"],
        scenarios=["healthcare"],
        where={"language": ["de", "fr"]},
        items=["equality", "wealth", "humble"],
        variants=[0, 2],
        samples=3,
        temperature=0.5,
        max_tokens=7,
        seed=4,
        concurrency=2,
        retries=1,
        instrument_path=Path("moral_foundations"),
        prompts_path=Path("paper"),
        progress=False,
        executor="ray",
        ray_address="auto",
        ray_workers=2,
    )
    assert run_config(ctx.params) == expected


def test_run_defaults_are_run_config_defaults(tmp_path: Path) -> None:
    ctx = run_command.make_context("run", ["--db", str(tmp_path / "d.db"), "--no-progress"])
    config = run_config(ctx.params)
    assert config == RunConfig(db=str(tmp_path / "d.db"), progress=False)
    assert config.model == "local" and config.mode == "item" and config.backend_options == {}


def test_no_command_module_takes_a_name_from_another_command_module() -> None:
    for path in sorted(CLI.glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "valuecompass.cli."
            ):
                module = str(node.module).rsplit(".", 1)[-1]
                assert module.startswith("_"), (path.name, node.module)
    rigor = ast.parse((CLI / "rigor.py").read_text(encoding="utf-8"))
    defined = [n.name for n in rigor.body if isinstance(n, ast.FunctionDef)]
    commands = [name for name in defined if not name.startswith("_")]
    assert commands and all(n == "rigor_group" or n.endswith("_command") for n in commands)


# The old spellings: each still works, prints its one note, and is hidden from --help.


def test_old_run_spellings_ask_what_the_new_ones_asked(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    new = ["--countries", "India", "--scenarios", "healthcare", "--items", "equality,wealth",
           "--mode", "all"]  # fmt: skip
    code, out, err = _cli("run", "--model", "mock", "--db", db, "--variants", "0", *new)
    assert code == 0 and "1 asked" in out and err == "", err
    old = ["--countries", "India", "--topics", "healthcare", "--values", "equality,wealth",
           "--mode", "form"]  # fmt: skip
    code, out, err = _cli("run", "--model", "mock", "--db", db, "--variants", "0", *old)
    assert code == 0 and "1 already stored" in out and "0 asked" in out, (out, err)
    assert sorted(err.strip().splitlines()) == [
        "note: --mode form is deprecated; use --mode all",
        "note: --topics is deprecated; use --scenarios",
        "note: --values is deprecated; use --items",
    ]


def test_old_and_new_spellings_together_add_up(tmp_path: Path) -> None:
    ctx = run_command.make_context(
        "run", ["--scenarios", "healthcare", "--topics", "education", "--values", "wealth"]
    )
    config = run_config(ctx.params)
    assert config.scenarios == ["healthcare", "education"] and config.items == ["wealth"]


def test_old_spellings_are_hidden_from_help() -> None:
    for command in (["run"], ["plan"], ["profile"]):
        code, out, _ = _cli(*command, "--help")
        assert code == 0
        for old in ("--topics", "--values", "|form", "deprecated"):
            assert old not in out, (command, old)


def test_plan_mode_form_is_noted(tmp_path: Path) -> None:
    code, _out, err = _cli("plan", "--mode", "form")
    assert code == 2
    assert err.splitlines() == [
        "note: --mode form is deprecated; use --mode all",
        "error: give one target: --half-width W, or --difference D (with --power)",
    ]


def test_profile_values_is_items(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    code, _out, err = _cli("run", "--model", "mock", "--db", db, *ONE, "--run", "p")
    assert code == 0, err
    code, new, err = _cli("profile", "--llm", db, "--items")
    assert code == 0 and err == "" and "By value and scenario" in new, err
    code, old, err = _cli("profile", "--llm", db, "--values")
    assert code == 0 and old == new
    assert err == "note: --values is deprecated; use --items\n"


def test_the_form_group_is_the_instrument_group() -> None:
    assert _cli("form", "list", "--format", "json")[1] == _cli("instrument", "list",
                                                              "--format", "json")[1]  # fmt: skip
    code, out, err = _cli("form", "show", "moral_foundations", "--format", "json")
    assert code == 0 and err == "" and json.loads(out)["id"] == "moral_foundations"
    code, out, _ = _cli("--help")
    assert "Deprecated alias of 'instrument'." in out


def test_run_config_reads_its_old_field_names() -> None:
    old = RunConfig(topics=["healthcare"], values=["wealth"], mode="form")  # type: ignore[call-arg]
    assert old == RunConfig(scenarios=["healthcare"], items=["wealth"], mode="all")
    with pytest.raises(ValueError, match="topics is the old name of scenarios: give one"):
        RunConfig(topics=["a"], scenarios=["b"])  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="values is the old name of items: give one"):
        RunConfig(values=["a"], items=["b"])  # type: ignore[call-arg]
