"""The openai backend against a real OpenAI-compatible server: llama.cpp's own.

``python -m llama_cpp.server`` (llama-cpp-python[server]) serves the bundled SmolLM2 GGUF on
loopback. Runs go through the ``valuecompass`` command as a user would run them; the server is
killed mid-run and started again; its answers and option probabilities are compared with the
in-process ``local`` backend on the same model file.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from valuecompass.cli import main
from valuecompass.models._bundled import bundled_model_path

pytestmark = pytest.mark.slow

#: A small grid: one context, two variants, greedy answers.
GRID = ["--countries", "India", "--topics", "education", "--variants", "0,1",
        "--temperature", "0"]  # fmt: skip
FOUR = ["--values", "Ambitious,Capable,Honest,Helpful"]  # 8 item prompts
SIX = ["--values", "Ambitious,Capable,Honest,Helpful,Wealth,Humble"]  # 12 item prompts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LlamaServer:
    """llama.cpp's OpenAI-compatible server in a child process, on one loopback port."""

    def __init__(self, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        args = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model_path()),
                "--model_alias", "smol", "--host", "127.0.0.1", "--port", str(self.port),
                "--n_ctx", "2048", "--n_threads", "1", "--n_threads_batch", "1"]  # fmt: skip
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-2000:]
            try:
                with urllib.request.urlopen(self.base_url + "/models", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("llama.cpp's server did not start in 120 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[LlamaServer]:
    srv = LlamaServer(tmp_path / "server.log")
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def _rows(db: Path, run: str) -> dict[tuple[str, int], tuple[str, str | None, dict[str, float]]]:
    """(value, variant) → (raw answer, code, option probabilities) of RUN's answers."""
    with sqlite3.connect(db) as conn:
        found = conn.execute(
            "select a.value, a.variant, a.raw, a.code, a.probs from answers a"
            " join runs r on r.id = a.run_id where r.name = ?",
            (run,),
        ).fetchall()
    return {(v, k): (raw, code, json.loads(p) if p else {}) for v, k, raw, code, p in found}


def _counts(db: Path) -> tuple[int, int, int]:
    with sqlite3.connect(db) as conn:
        prompts = conn.execute("select count(*) from prompts").fetchone()[0]
        answers = conn.execute("select count(*) from answers").fetchone()[0]
        distinct = conn.execute(
            "select count(*) from (select distinct run_id, value, variant, sample from answers)"
        ).fetchone()[0]
    return prompts, answers, distinct


def test_item_and_form_runs_agree_with_the_local_backend(
    server: LlamaServer, tmp_path: Path, released: Path
) -> None:
    db = tmp_path / "s.db"
    cli = CliRunner()
    remote = ["run", "--model", "openai:smol", "--base-url", server.base_url, "--logprobs",
              *GRID, *FOUR, "--db", str(db), "--run", "server", "--concurrency", "2"]  # fmt: skip
    asked = cli.invoke(main, remote)
    assert asked.exit_code == 0 and "8 asked, 0 failed" in asked.output, asked.output
    # The server generates both tokens of an answer: so does the local backend here.
    local = ["run", "--model", "local", "-M", "threads=1", "-M", "stop_at_option=false", *GRID,
             *FOUR, "--db", str(db), "--run", "local"]  # fmt: skip
    here = cli.invoke(main, local)
    assert here.exit_code == 0 and "8 asked, 0 failed" in here.output, here.output
    served, computed = _rows(db, "server"), _rows(db, "local")
    assert set(served) == set(computed) and len(served) == 8
    tvs: list[float] = []
    for key, (raw, code, probs) in served.items():
        local_raw, local_code, local_probs = computed[key]
        # Greedy decoding of the same file: the same answer, token for token.
        assert (raw, code) == (local_raw, local_code), key
        # The same first-token distribution over the options, within 0.08 total variation
        # per answer and 0.04 on average: the batching tolerance of a quantised format
        # (test_local_model.py). Both sides evaluate the Q4_1 file, by llama.cpp's AMX kernels
        # where they work (else the local backend converts it to BF16), but the local backend
        # evaluates a block's items in one batched decode over their shared prefix and the
        # server one prompt at a time, with other kernels; the activations are rounded to 8
        # bits, which turns those small differences into some different roundings (measured
        # here with AMX: max 0.036, mean 0.020; BF16 against the plain Q4_1 path: max 0.022,
        # mean 0.011). The server also sees only its top 20 tokens (an option below them
        # would count 0).
        assert probs and local_probs, key
        tvs.append(0.5 * sum(abs(probs[c] - local_probs[c]) for c in local_probs))
        assert tvs[-1] <= 0.08, (key, probs, local_probs)
    assert sum(tvs) / len(tvs) <= 0.04, tvs
    # The server's run is scored by option probabilities like any other.
    scored = cli.invoke(main, ["align", "--humans", str(released), "--llm", f"{db}#server",
                               "--score", "probs", "--format", "json"])  # fmt: skip
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["overall"]["n_contexts"] == 1
    # A form prompt (all 56 values in one) through the same server.
    form = ["run", "--model", "openai:smol", "--base-url", server.base_url, "--mode", "form",
            "--countries", "India", "--topics", "education", "--variants", "0",
            "--max-tokens", "64", "--db", str(db), "--run", "form"]  # fmt: skip
    done = cli.invoke(main, form)
    assert done.exit_code == 0 and "1 asked, 0 failed" in done.output, done.output
    assert len(_rows(db, "form")) == 56


def test_server_killed_mid_run_and_restarted_loses_and_doubles_nothing(
    server: LlamaServer, tmp_path: Path
) -> None:
    db = tmp_path / "s.db"
    exe = Path(sys.executable).parent / "valuecompass"
    args = [str(exe), "run", "--model", "openai:smol", "-M", f"base_url={server.base_url}",
            "-M", "logprobs=true", "-M", "timeout=60", *GRID, *SIX, "--db", str(db), "--run", "k",
            "--concurrency", "2", "--retries", "8", "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    run = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline, stored = time.monotonic() + 120, 0
    while time.monotonic() < deadline and run.poll() is None and stored < 3:
        time.sleep(0.1)
        try:
            stored = _counts(db)[0] if db.exists() else 0
        except sqlite3.OperationalError:
            continue
    assert run.poll() is None and stored >= 3, "the run ended before the server could be killed"
    server.kill()  # in the middle of a request: the client sees a dropped connection
    time.sleep(1.0)
    server.start()  # the same port; the run's retries find it again
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err.decode()
    assert "12 prompts; 0 already stored, 0 from cache, 12 asked, 0 failed" in out.decode()
    assert _counts(db) == (12, 12, 12)


def test_actions_generate_through_the_server_with_a_json_schema(
    server: LlamaServer, tmp_path: Path
) -> None:
    # llama-cpp-python's server takes a schema as response_format json_object (+ schema)
    db = tmp_path / "gen.db"
    args = ["actions", "generate", "--instrument", "value_actions", "--model", "openai:smol",
            "-M", f"base_url={server.base_url}", "-M", "schema_format=json_object",
            "--countries", "India", "--where", "topic=Politics", "--items", "Equality,Wealth",
            "--temperature", "0", "--max-tokens", "160", "--set", "remote", "--db", str(db),
            "--concurrency", "2", "--no-progress"]  # fmt: skip
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert "4 places; 0 already stored, 0 from cache, 4 asked, 0 failed; 4/4 new" in done.output
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select text, missing, source_detail from actions").fetchall()
    assert len(rows) == 4
    for text, missing, detail in rows:
        reply = json.loads(json.loads(detail)["reply"])  # the server kept to the schema
        assert missing is None and list(reply) == ["action", "spans", "explanation"]
        assert " ".join(reply["action"].split()) == text and text.startswith("I ")
    again = CliRunner().invoke(main, args)
    assert "4 already stored, 0 from cache, 0 asked" in again.output


def test_the_choice_task_through_the_server_with_a_json_schema(
    server: LlamaServer, tmp_path: Path
) -> None:
    # a hand-written pair per item, then the choice task in every variant of both designs
    db = tmp_path / "choice.db"
    path = tmp_path / "pairs.csv"
    path.write_text(
        "country,topic,value,inclination,action\n"
        "India,Politics,equality,expresses,I vote for equal pay.\n"
        "India,Politics,equality,opposes,I vote to keep pay unequal.\n"
        "India,Politics,wealth,expresses,I save part of every wage.\n"
        "India,Politics,wealth,opposes,I give away all my savings.\n",
        encoding="utf-8",
    )
    made = CliRunner().invoke(main, ["actions", "import", str(path), "--set", "pairs", "--db",
                                     str(db), "--instrument", "value_actions"])  # fmt: skip
    assert made.exit_code == 0, made.output
    base = ["run", "--task", "choice", "--actions", "pairs", "--instrument", "value_actions",
            "--model", "openai:smol", "-M", f"base_url={server.base_url}", "--countries",
            "India", "--where", "topic=Politics", "--temperature", "0", "--db", str(db),
            "--concurrency", "2", "--no-progress"]  # fmt: skip
    paper = CliRunner().invoke(main, [*base, "-M", "schema_format=json_object", "--prompts",
                                      "paper", "--run", "paper"])  # fmt: skip
    assert paper.exit_code == 0, paper.output
    assert "16 prompts; 0 already stored, 0 from cache, 16 asked, 0 failed" in paper.output
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "select a.variant, a.code, a.place, p.raw from answers a join prompts p on "
            "p.run_id = a.run_id and p.cache_key = a.cache_key join runs r on r.id = a.run_id "
            "where r.name = 'paper'"
        ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(list(range(8)) * 2)
    for variant, code, place, raw in rows:
        reply = json.loads(raw)  # the server kept to the schema: one whole object
        assert reply["action"] in ("Option 1", "Option 2")
        assert place == int(reply["action"][-1]) and code in ("expresses", "opposes")
        assert ("explanation" in reply) == (variant >= 4)
    # the default design asks for the number: with logprobs, each choice has its probabilities
    number = CliRunner().invoke(main, [*base, "-M", "logprobs=true", "--run", "number"])
    assert number.exit_code == 0, number.output
    with sqlite3.connect(db) as conn:
        probs = conn.execute(
            "select a.probs from answers a join runs r on r.id = a.run_id where r.name = 'number'"
        ).fetchall()
    assert len(probs) == 4
    for (p,) in probs:
        assert p is not None and sum(json.loads(p).values()) == pytest.approx(1.0)


class _Recorder(BaseHTTPRequestHandler):
    """Passes each request on to the server (``upstream``) and keeps each chat answer's text
    and the usage the server reported for it (``seen``)."""

    upstream: ClassVar[str] = ""
    seen: ClassVar[list[tuple[str, int, int]]] = []

    def do_GET(self) -> None:
        self._forward(None)

    def do_POST(self) -> None:
        self._forward(self.rfile.read(int(self.headers["Content-Length"])))

    def _forward(self, body: bytes | None) -> None:
        request = urllib.request.Request(self.upstream + self.path, data=body, method=self.command)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=120) as resp:
            status, data = resp.status, resp.read()
        if self.path.endswith("/chat/completions"):
            reply = json.loads(data)
            usage = reply["usage"]
            text = reply["choices"][0]["message"]["content"]
            self.seen.append((text, usage["prompt_tokens"], usage["completion_tokens"]))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_run_stores_the_servers_token_counts_and_runs_show_sums_them(
    server: LlamaServer, tmp_path: Path
) -> None:
    # Every answer the server sent passes through a recorder: the run must store, prompt by
    # prompt, the usage the server reported with it, and runs show must sum exactly those.
    class Recorder(_Recorder):
        upstream: ClassVar[str] = f"http://127.0.0.1:{server.port}"
        seen: ClassVar[list[tuple[str, int, int]]] = []

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    db = tmp_path / "s.db"
    try:
        args = ["run", "--model", "openai:smol", "-M",
                f"base_url=http://127.0.0.1:{proxy.server_address[1]}/v1", *GRID,
                "--values", "Ambitious,Honest", "--db", str(db), "--run", "tok",
                "--concurrency", "2", "--no-progress"]  # fmt: skip
        done = CliRunner().invoke(main, args)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert done.exit_code == 0 and "4 asked, 0 failed" in done.output, done.output
    with sqlite3.connect(db) as conn:
        stored = conn.execute(
            "select raw, prompt_tokens, completion_tokens from prompts"
        ).fetchall()
    assert len(Recorder.seen) == 4 and sorted(stored) == sorted(Recorder.seen)
    assert all(given > 20 and made >= 1 for _, given, made in stored)
    given = sum(s[1] for s in Recorder.seen)
    made = sum(s[2] for s in Recorder.seen)
    shown = CliRunner().invoke(main, ["runs", "show", "tok", "--db", str(db)])
    assert f"  tokens: {given} in, {made} out (4 of 4 prompts counted)" in shown.output
    as_json = CliRunner().invoke(main, ["runs", "show", "tok", "--db", str(db), "--format", "json"])
    assert json.loads(as_json.output)["tokens"] == {"input": given, "output": made, "counted": 4}
    # The local backend counts the same prompts with the model's own tokenizer: the prompt
    # tokens the server counted, as the same file's chat template renders them.
    local = ["run", "--model", "local", "-M", "threads=1", *GRID, "--values", "Ambitious,Honest",
             "--db", str(db), "--run", "here", "--no-progress"]  # fmt: skip
    here = CliRunner().invoke(main, local)
    assert here.exit_code == 0, here.output
    with sqlite3.connect(db) as conn:
        counted = conn.execute(
            "select sum(p.prompt_tokens), count(p.completion_tokens) from prompts p "
            "join runs r on r.id = p.run_id where r.name = 'here'"
        ).fetchone()
    assert counted == (given, 4)
