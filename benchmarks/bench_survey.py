"""Survey throughput: 64 participants at once submitting a complete Value Form, on loopback.

What is measured. The server (``valuecompass survey serve``, its own process, one worker, its
access log on and written to a file) runs with the whole Value Form on one page
(``--items-per-page 58``). Participants are first walked
through the real path to that page: study link, consent, demographics, vignette (not timed).
Then 64 concurrent clients, each on one keep-alive connection, send the participants' forms.
A *complete submission* is one POST carrying all 58 ratings (56 values and 2 attention
checks) with its CSRF token, which the server validates, stores in one transaction and
acknowledges with a 303 redirect to the open questions. Printed: complete submissions per
second over the timed phase, the latency percentiles of those POSTs, and the count the store
holds (participants with all 58 answers, past the form) against the count acknowledged.

Target on a 2-core machine: >= 200 submissions/s and p99 < 250 ms on SQLite, stored equal to
acknowledged. PostgreSQL runs when VALUECOMPASS_BENCH_PG_URL or VALUECOMPASS_TEST_PG_URL names a
server whose role may create databases (a fresh one is made and dropped).

    python benchmarks/bench_survey.py [--participants 2000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import func, select

from valuecompass.store import open_store
from valuecompass.store._survey_tables import answers, participants
from valuecompass.testing import survey_load as load

TARGET_RATE, TARGET_P99 = 200.0, 0.250
ITEMS = 58
SERVER_ARGS = ("--quota", "1000000", "--items-per-page", str(ITEMS), *load.NO_HOLD_LIMITS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _measure("SQLite", str(Path(tmp) / "survey.db"), args.participants, args.concurrency)
    pg = os.environ.get("VALUECOMPASS_BENCH_PG_URL") or os.environ.get("VALUECOMPASS_TEST_PG_URL")
    if not pg:
        print("PostgreSQL: skipped (set VALUECOMPASS_BENCH_PG_URL or VALUECOMPASS_TEST_PG_URL)")
        return
    with load.fresh_postgres(pg, prefix="vc_bench") as url:
        _measure("PostgreSQL", url, args.participants, args.concurrency)


def _measure(label: str, db: str, count: int, concurrency: int) -> None:
    port = load.free_port()
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = load.start_server(db, port, *SERVER_ARGS, log=logs / "server.log")
        stack.callback(lambda: (server.terminate(), server.wait()))
        start = time.perf_counter()
        seats = asyncio.run(load.enrol_many(port, count, concurrency, prefix="bench"))
        enrolled = time.perf_counter() - start
        assert all(len(s.items) == ITEMS for s in seats), "expected the whole form on one page"
        wall = asyncio.run(load.submit_all(port, seats, concurrency))
    acknowledged = sum(s.acknowledged for s in seats)
    latencies = sorted(t for s in seats for t in s.latencies)
    stored, rows = _stored(db)
    rate = acknowledged / wall
    p50, p99 = _quantile(latencies, 0.50), _quantile(latencies, 0.99)
    print(f"{label}: {count} participants walked link -> form in {enrolled:.1f} s")
    print(
        f"{label}: {acknowledged} complete submissions in {wall:.2f} s = {rate:.0f}/s "
        f"({rate / TARGET_RATE:.2f}x the {TARGET_RATE:.0f}/s target), "
        f"concurrency {concurrency}"
    )
    print(
        f"{label}: latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
        f"(target < {TARGET_P99 * 1000:.0f} ms), max {latencies[-1] * 1000:.0f} ms"
    )
    verdict = "OK" if stored == acknowledged and rows == stored * ITEMS else "MISMATCH"
    print(
        f"{label}: stored {stored} / acknowledged {acknowledged}, "
        f"{rows} answer rows (= {ITEMS} x stored: {rows == stored * ITEMS}) {verdict}"
    )


def _stored(db: str) -> tuple[int, int]:
    """Participants past the form holding all their answers, and all answer rows."""
    engine = open_store(db, create=False)
    try:
        with engine.connect() as conn:
            complete = (
                select(answers.c.participant_id)
                .group_by(answers.c.participant_id)
                .having(func.count() == ITEMS)
                .subquery()
            )
            stored = conn.execute(
                select(func.count())
                .select_from(participants)
                .where(
                    participants.c.step == "open",
                    participants.c.id.in_(select(complete.c.participant_id)),
                )
            ).scalar_one()
            rows = conn.execute(select(func.count()).select_from(answers)).scalar_one()
    finally:
        engine.dispose()
    return int(stored), int(rows)


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))]


if __name__ == "__main__":
    main()
