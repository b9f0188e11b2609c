"""The documentation's examples are real.

Every ``valuecompass`` command README.md and docs/*.md show (in code blocks and inline) names
a command the CLI has and options that command takes; every fast example runs and exits 0.
Each page runs in page order in a fresh copy of the checkout, with the released data beside
it as ``../shared``, as a user would type the commands. Long examples (``# long``) run only
under ``pytest -m long``; the conventions are in CONTRIBUTING.md and tests/_docs_support.py.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import valuecompass
from _docs_support import Block, Command, blocks, inline_commands, invocations, option_problems
from valuecompass import align_sources
from valuecompass.cli import main

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: What a copy of the checkout leaves out when git cannot list its files.
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".*_cache", "*.db", "artifacts")
#: Settings that would make a command read or write somewhere else than the docs say.
UNSET = ("VALUECOMPASS_DB", "VALUECOMPASS_SURVEY_DB", "VALUECOMPASS_ADMIN_TOKEN")
END = "VALUECOMPASS_DOCS_END"


def _name(page: Path) -> str:
    return page.relative_to(REPO).as_posix()


def page_blocks(page: Path) -> list[Block]:
    return list(blocks(page, REPO))


def page_commands(page: Path) -> list[Command]:
    """Every shell command of PAGE's blocks, then its inline ``valuecompass ...`` ones."""
    shown = [c for b in page_blocks(page) for c in b.commands]
    return shown + list(inline_commands(page, REPO))


def _runs(block: Block, tiers: set[str]) -> bool:
    return block.kind == "file" or (block.kind == "python" and block.tier in tiers)


def _tiers(page: Path) -> set[str]:
    found = page_blocks(page)
    tiers = {c.tier for b in found for c in b.commands}
    return tiers | {b.tier for b in found if b.kind == "python"}


def _pages_with(tier: str) -> list[Path]:
    return [page for page in PAGES if tier in _tiers(page)]


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_command_names_options_it_has(page: Path) -> None:
    problems = [
        f"{command.where()}: {problem}"
        for command in page_commands(page)
        for args in invocations(command.code)
        for problem in option_problems(main, args, whole=not command.inline)
    ]
    assert problems == []


def test_the_pages_show_commands() -> None:
    """The check above reads commands at all: each page a user runs things from has some."""
    shown = {_name(p): sum(1 for c in page_commands(p) for _ in invocations(c.code)) for p in PAGES}
    quiet = {"docs/architecture.md", "docs/glossary.md"}
    assert {page for page, n in shown.items() if n == 0} <= quiet
    assert sum(shown.values()) >= 100


def _script(page: Path, tiers: set[str]) -> tuple[str, int]:
    """PAGE's examples of TIERS as one bash script, and how many steps it announces."""
    # Each step is announced with the seconds the page has taken so far, for a failure's message.
    step = 'step() { printf \'\\n>>> %ss %s\\n\' "$SECONDS" "$1" >&2; }'
    lines, steps = ["set -eo pipefail", step], 0
    for block in page_blocks(page):
        if block.kind == "sh":
            for command in block.commands:
                if command.tier in tiers:
                    lines += [f"step {shlex.quote(command.where() + ' ' + command.code)}"]
                    lines += [command.text]
                    steps += 1
        elif _runs(block, tiers):
            where = f"{block.page}:{block.line} ({block.kind} {block.name})"
            run = (
                f"python - <<'{END}'" if block.kind == "python" else f"cat > {block.name} <<'{END}'"
            )
            lines += [f"step {shlex.quote(where)}", run, block.body, END]
            steps += 1
    return "\n".join(lines) + "\n", steps


def _checkout(to: Path) -> None:
    """A copy of the checkout's files (those git tracks or would, else all but build output)."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
    )
    if listed.returncode != 0:
        shutil.copytree(REPO, to, ignore=NOT_COPIED, symlinks=True)
        return
    for rel in filter(None, listed.stdout.decode().split("\0")):
        source = REPO / rel
        if source.is_file():
            (to / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / rel)


def _environment(bin_dir: Path) -> dict[str, str]:
    """`valuecompass` and `python` on PATH running this checkout's package, as after
    `. .venv/bin/activate`."""
    bin_dir.mkdir()
    for name, run in (("valuecompass", "-m valuecompass "), ("python", "")):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" {run}"$@"\n')
        shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    src = str(Path(valuecompass.__file__).resolve().parents[1])
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


def run_page(page: Path, tiers: set[str], released: Path, tmp_path: Path, timeout: float) -> None:
    script, steps = _script(page, tiers)
    assert steps > 0, f"{_name(page)} has no example of {tiers} to run"
    (tmp_path / "shared").symlink_to(released.parents[1], target_is_directory=True)
    project = tmp_path / "valuecompass"
    _checkout(project)
    (tmp_path / "docs-examples.sh").write_text(script, encoding="utf-8")
    done = subprocess.run(
        ["bash", str(tmp_path / "docs-examples.sh")],
        cwd=project,
        env=_environment(tmp_path / "bin"),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    said = done.stdout[-3000:] + "\n--- stderr ---\n" + done.stderr[-6000:]
    assert done.returncode == 0, f"{_name(page)}: exit {done.returncode}\n{said}"
    assert done.stderr.count("\n>>> ") == steps, said


@pytest.mark.parametrize("page", _pages_with("fast"), ids=_name)
def test_fast_examples_run(page: Path, released: Path, tmp_path: Path) -> None:
    run_page(page, {"fast"}, released, tmp_path, timeout=300)


@pytest.mark.long
@pytest.mark.parametrize("page", _pages_with("long"), ids=_name)
def test_long_examples_run(page: Path, released: Path, tmp_path: Path) -> None:
    run_page(page, {"fast", "long"}, released, tmp_path, timeout=4 * 3600)


_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to -."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


@pytest.mark.parametrize("page", [*PAGES, REPO / "CONTRIBUTING.md"], ids=_name)
def test_every_link_reaches_its_page_and_heading(page: Path) -> None:
    broken = []
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        reached = (page.parent / path).resolve() if path else page
        if not reached.exists() or (anchor and anchor not in _anchors(reached)):
            broken.append(target)
    assert broken == []


def test_readme_leads_to_every_page() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    linked = set(_LINK.findall(readme))
    assert {f"docs/{p.name}" for p in PAGES[1:]} <= linked
    assert "CONTRIBUTING.md" in linked


def test_the_worked_example_gives_the_numbers_it_shows(tmp_path: Path) -> None:
    """docs/metrics.md works its example by hand; align must agree with every figure."""
    files = {b.name: b.body for b in page_blocks(REPO / "docs" / "metrics.md") if b.kind == "file"}
    for name in ("people.csv", "model.csv"):
        (tmp_path / name).write_text(files[name] + "\n", encoding="utf-8")
    cells = align_sources(tmp_path / "people.csv", tmp_path / "model.csv").alignment
    assert cells.overall() == pytest.approx(
        {"f1": 2 / 3, "accuracy": 2 / 3, "precision": 1.0, "recall": 0.5, "kappa": 0.4,
         "distance": (1 / 6 + 1 / 3 + 1 / 6) / 3, "ties_share": 1 / 3, "n_contexts": 1}
    )  # fmt: skip
    for ties, f1 in (("agree", 0.0), ("split", 0.4)):
        again = align_sources(tmp_path / "people.csv", tmp_path / "model.csv", ties=ties)
        assert again.alignment.overall()["f1"] == pytest.approx(f1)
    means = align_sources(tmp_path / "people.csv", tmp_path / "model.csv", group_distance="means")
    assert means.alignment.overall()["distance"] == pytest.approx(abs(-1 / 6 - 1 / 3 + 1 / 6) / 3)


def test_the_reader_follows_the_convention(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Run `valuecompass runs\nshow tour --format text`.\n"
        "```sh\n"
        "R=../shared  # the data\n"
        "valuecompass profile --llm store.db#run \\\n"
        "    --by country   # long: a comment on the last line\n"
        "make run  # needs: the network\n"
        "```\n"
        "```console\n$ valuecompass runs list\nNAME  STATUS\n```\n"
        "```sh long\nvaluecompass run\n```\n"
        "```python\n# long\nprint(1)\n```\n"
        "```yaml file=x.yaml\nbase: default\n```\n"
        "```text\nvaluecompass not --checked\n```\n",
        encoding="utf-8",
    )
    found = list(blocks(page, tmp_path))
    assert [b.kind for b in found] == ["sh", "sh", "sh", "python", "file"]
    first = found[0].commands
    assert [(c.line, c.code, c.tier) for c in first] == [
        (4, "R=../shared", "fast"),
        (5, "valuecompass profile --llm store.db#run --by country", "long"),
        (7, "make run", "needs"),
    ]
    assert [c.code for c in found[1].commands] == ["valuecompass runs list"]
    assert found[2].commands[0].tier == "long"
    assert found[3].tier == "long"
    assert (found[4].name, found[4].body) == ("x.yaml", "base: default")
    inline = list(inline_commands(page, tmp_path))
    assert [(c.line, c.code) for c in inline] == [(1, "valuecompass runs show tour --format text")]
    args = ["profile", "--llm", "store.db#run", "--by", "country"]
    assert list(invocations(first[1].code)) == [args]


def test_the_option_check_finds_what_is_wrong() -> None:
    def check(code: str, whole: bool = True) -> list[str]:
        return [p for args in invocations(code) for p in option_problems(main, args, whole)]

    assert check("valuecompass runs show tour --format json | head") == []
    assert check("valuecompass align --humans a --llm b --by=type --score probs") == []
    assert check("valuecompass run --modle item") == ["valuecompass run has no option --modle"]
    assert check("valuecompass runs shw tour") == ["valuecompass runs has no command 'shw'"]
    assert check("valuecompass rigor") == [
        "valuecompass rigor is a group: name one of its commands"
    ]
    assert check("valuecompass rigor", whole=False) == []
    assert check("valuecompass run --mode sideways") == [
        "valuecompass run --mode: 'sideways' is not one of all, item"
    ]
    assert check("x=1; valuecompass instrument list --format $FORMAT && echo --nope") == []
