"""Issue 23, item 1: a store URL's password is never shown or written.

Every command that takes a source or a store is run with a PostgreSQL URL that holds the
password, and its standard output, standard error and every file it writes are searched for
it. ``profile`` printed the whole URL, and ``report`` wrote it into ``report.html``,
``provenance.json`` and ``provenance.csv``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from _survey_support import pg_database as pg_database
from valuecompass.cli import main
from valuecompass.common import redact_text

REPO = Path(__file__).resolve().parents[1]


def test_redact_text_takes_every_password_out() -> None:
    said = "m=postgresql://u:s3cr@t@h/db#run and mysql+x://:pw@h2:5/d and http://h/no"
    assert (
        redact_text(said)
        == "m=postgresql://u:***@t@h/db#run and mysql+x://:***@h2:5/d and http://h/no"
    )
    assert redact_text("sqlite:///x.db") == "sqlite:///x.db"
    assert redact_text("postgresql://u:***@h/d") == "postgresql://u:***@h/d"


def _leaks(password: str, user: str) -> list[str]:
    """The strings that must appear nowhere: the credentials, and the bare password where it
    cannot be told from the user name's own appearances."""
    out = [f":{password}@"]
    if password not in user:
        out.append(password)
    return out


@pytest.fixture(scope="module")
def store(pg_database: str) -> str:
    """A PostgreSQL store holding one mock run of one context, given with its password."""
    url = make_url(pg_database)
    assert url.password, "the test server's URL must hold a password"
    result = CliRunner().invoke(
        main,
        ["run", "--model", "mock", "--countries", "India", "--scenarios", "healthcare",
         "--run", "m", "--db", pg_database, "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return pg_database


def _commands(store: str, released: Path, out: Path) -> list[list[str]]:
    llm, people = f"{store}#m", str(released)
    pair = ["--humans", people, "--llm", llm]
    return [
        ["runs", "list", "--db", store],
        ["runs", "show", "m", "--db", store],
        ["runs", "export", "m", "--db", store, "--out", str(out / "m.csv")],
        ["run", "--model", "mock", "--countries", "India", "--scenarios", "healthcare",
         "--run", "m", "--db", store, "--no-progress"],  # resumes: nothing to ask
        ["align", *pair, "--format", "json"],
        ["align", *pair, "--ci", "0.9", "--resamples", "20"],
        ["profile", "--llm", llm],
        ["profile", "--llm", llm, "--format", "json"],
        ["report", "--humans", people, "--llm", f"m={llm}", "--out", str(out / "r" / "report.html"),
         "--jobs", "1"],
        ["rigor", "ceiling", *pair, "--splits", "5"],
        ["rigor", "ranks", *pair, "--resamples", "20"],
        ["rigor", "significance", *pair, "--permutations", "20"],
        ["rigor", "distributions", *pair],
        ["rigor", "irrelevant", *pair],
        ["rigor", "sensitivity", *pair],
        ["plan", "--half-width", "0.2", *pair],
        ["survey", "export", "--db", store, "--out", str(out / "people.csv")],
    ]  # fmt: skip


#: Commands that fail on purpose, with an error that names the store.
FAILING = (
    lambda store: ["align", "--humans", store, "--llm", f"{store}#m"],  # no people there
    lambda store: ["profile", "--llm", f"{store}#no_such_run"],
    lambda store: ["gap", "--stated", f"{store}#m", "--acted", f"{store}#m"],  # not choices
)


def test_no_command_shows_or_writes_the_password(
    store: str, released: Path, tmp_path: Path
) -> None:
    url = make_url(store)
    leaks = _leaks(str(url.password), str(url.username))
    runs = [(c, 0) for c in _commands(store, released, tmp_path)]
    runs += [(make(store), 2) for make in FAILING]
    for command, code in runs:
        result = CliRunner().invoke(main, command)
        assert result.exit_code == code, (command, result.output, result.exception)
        said = result.stdout + result.stderr
        assert "Traceback" not in said, command
        found = [leak for leak in leaks if leak in said]
        assert not found, (command, said[:2000])
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"m.csv", "report.html", "provenance.json", "people.csv"}
    for path in written:
        text = path.read_bytes().decode("utf-8", errors="replace")
        found = [leak for leak in leaks if leak in text]
        assert not found, (path, found)
    provenance = (tmp_path / "r" / "report_files" / "provenance.json").read_text()
    assert f"{url.username}:***@" in provenance  # the command is kept, its password is not


def test_survey_serve_does_not_show_the_password(store: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "valuecompass", "survey", "serve", "--db", store,
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    said, _ = proc.communicate(timeout=60)
    url = make_url(store)
    assert "survey on http://" in said, said
    assert not [leak for leak in _leaks(str(url.password), str(url.username)) if leak in said]
