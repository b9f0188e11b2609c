"""Drive a running survey server as many participants at once (benchmark and fault tests).

A participant is enrolled through the real path (link, consent, demographics, vignette), which
leaves them on the Value Form; their cookies and CSRF token are kept in a :class:`Seat` so a
later submission of a whole form page is one POST on a worker's keep-alive connection.

The client is a minimal HTTP/1.1 one over asyncio streams, with each submission's bytes built
before the clock starts: a general-purpose client costs several milliseconds of CPU a request,
which on a two-core machine would measure the client rather than the server.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from valuecompass.instrument import Instrument, load_instrument
from valuecompass.store import database_url
from valuecompass.survey import load_content

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_ITEM = re.compile(r'name="r_([a-z0-9_-]+)" value=')
#: ``survey serve`` options that lift the limits on quota places per address, per minute and
#: per cell:
#: a load test enrols every participant from one address, at once.
NO_HOLD_LIMITS = (
    "--holds-per-address", "1000000000", "--holds-per-minute", "1000000000",
    "--address-share", "1",
)  # fmt: skip
COUNTRIES = ("united_states", "united_kingdom", "india", "germany", "france", "canada", "australia")


def prolific_id(label: str, number: int = 0) -> str:
    """A well-formed Prolific participant id (24 hexadecimal digits) for simulated participant
    NUMBER of a group LABEL: the label's CRC-32, then the number (``int(pid[8:], 16)``)."""
    return f"{zlib.crc32(label.encode()):08x}{number:016x}"


@dataclass
class Seat:
    """A participant waiting on a Value Form page, with what it takes to submit it."""

    pid: str
    cookies: dict[str, str]
    csrf: str
    page: int
    items: list[str]
    salt: int = 0  # varies the answers from one participant to the next
    acknowledged: bool = False
    latencies: list[float] = field(default_factory=list)

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    db: str, port: int, *args: str, log: Path | None = None, timeout: float = 60
) -> subprocess.Popen[bytes]:
    """``valuecompass survey serve`` on loopback PORT; returns once it answers."""
    command = [sys.executable, "-m", "valuecompass.cli", "survey", "serve", "--db", db]
    command += ["--port", str(port), *args]
    out = log.open("ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(command, stdout=out, stderr=out)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the survey server exited with {proc.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/static/survey.css", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the survey server did not start in time")


def form_answers(
    items: Sequence[str], salt: int, instrument: Instrument | None = None
) -> dict[str, str]:
    """Ratings for ITEMS on INSTRUMENT's people scale (the Value Form's by default): attention
    checks answered as they ask, the items' answers varied over the whole scale by SALT."""
    scale = (instrument or load_instrument()).people_scale
    expected = {c.id: c.expected(scale) for c in load_content().attention_checks}
    codes = (*scale.codes, *scale.missing_codes)
    return {
        f"r_{item}": expected.get(item, codes[(salt + i) % len(codes)])
        for i, item in enumerate(items)
    }


#: A participant's answer (a code of the people scale) to an item, given the item's id and the
#: participant's salt.
Pattern = Callable[[str, int], str]


def item_answers(
    items: Sequence[str],
    salt: int,
    instrument: Instrument | None = None,
    pattern: Pattern | None = None,
) -> dict[str, str]:
    """Like :func:`form_answers`, but each item's answer depends on the item and SALT, not on
    where it was shown: PATTERN(item, SALT) if given, else the code at (SALT + the item's place
    in the instrument) of the scale's codes. Attention checks are answered as they ask."""
    inst = instrument or load_instrument()
    scale = inst.people_scale
    expected = {c.id: c.expected(scale) for c in load_content().attention_checks}
    codes = (*scale.codes, *scale.missing_codes)
    place = {item: i for i, item in enumerate(inst.item_ids)}
    return {
        f"r_{item}": expected.get(item)
        or (pattern(item, salt) if pattern else codes[(salt + place[item]) % len(codes)])
        for item in items
    }


class Connection:
    """One keep-alive HTTP/1.1 connection to the server, with a cookie jar."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None

    async def send(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send a whole request; (status, headers, body). Connection errors propagate."""
        if self._streams is None:
            self._streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self._streams
        try:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status, headers = _head(head, self.cookies)
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            await self.close()
            raise
        if headers.get("connection") == "close":
            await self.close()
        return status, headers, body

    def build(self, method: str, path: str, form: dict[str, str] | None = None) -> bytes:
        body = urlencode(form).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded"]
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return await self.send(self.build("GET", path))

    async def post(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return await self.send(self.build("POST", path, form))


def _head(head: bytes, jar: dict[str, str]) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "set-cookie":
            key, _, rest = value.partition("=")
            jar[key] = rest.split(";", 1)[0]
        headers[name] = value
    if headers.get("transfer-encoding"):
        raise RuntimeError("this client reads only responses with a Content-Length")
    return status, headers


async def enrol(
    port: int,
    pid: str,
    country: str,
    study: str = "bench",
    lang: str | None = None,
    scenario: str | None = None,
) -> Seat:
    """Walk PID from the study link (in language LANG, naming SCENARIO, if given) to the first
    statement page."""
    async with Connection(port) as conn:
        link = {"PROLIFIC_PID": pid, "STUDY_ID": study}
        if scenario:
            link["scenario"] = scenario
        _, _, page = await conn.get("/?" + urlencode({**link, **({"lang": lang} if lang else {})}))
        if lang:
            link["lang"] = lang
        token = _token(page)
        steps = [
            ("/consent", {"consent": "yes", **link}),
            ("/demographics", {"country": country, "age_band": "25-34", "gender": ""}),
            ("/vignette", {}),
        ]
        for url, data in steps:
            status, _, _ = await conn.post(url, {"csrf": token, **data})
            if status != 303:
                raise RuntimeError(f"{url}: {status} for {pid}")
            if url == "/consent":  # a token is good in its session only: the new one's
                _, _, page = await conn.get("/demographics")
                token = _token(page)
        _, _, form = await conn.get("/page/1")
        items = list(dict.fromkeys(_ITEM.findall(form.decode())))
        return Seat(pid, dict(conn.cookies), token, 1, items)


def _token(page: bytes) -> str:
    found = _CSRF.search(page.decode())
    if found is None:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


async def enrol_many(port: int, count: int, concurrency: int, prefix: str) -> list[Seat]:
    """COUNT participants enrolled by CONCURRENCY workers."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Seat:
        async with gate:
            seat = await enrol(port, prolific_id(prefix, i), COUNTRIES[i % len(COUNTRIES)])
            seat.salt = i
            return seat

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def take_part(
    port: int,
    pid: str,
    country: str,
    *,
    instrument: Instrument | None = None,
    study: str = "bench",
    lang: str | None = None,
    salt: int = 0,
    pattern: Pattern | None = None,
    scenario: str | None = None,
    chooser: Chooser | None = None,
    judge: Judge | None = None,
) -> str:
    """One simulated participant through the whole survey of INSTRUMENT, in LANG: every
    statement page, then the open questions. Returns where the server sent them at the end
    ("/done"). The answers depend on the item and SALT only (PATTERN if given, see
    :func:`item_answers`), so two participants with one SALT give the same answers whatever
    order or language. In a choice study the choice pages follow the statements: CHOOSER
    picks each pair's place (the first when none is given). In a review study the review
    pages follow them: JUDGE answers each action's criteria (yes to all when none is
    given)."""
    seat = await enrol(port, pid, country, study, lang, scenario)
    async with Connection(port) as conn:
        conn.cookies = dict(seat.cookies)
        where, page, items = "", 1, seat.items
        while True:
            answers = item_answers(items, salt, instrument, pattern)
            status, head, body = await conn.post(f"/page/{page}", {"csrf": seat.csrf, **answers})
            where = head.get("location", "")
            if status != 303:
                raise RuntimeError(f"/page/{page}: {status} for {pid}: {body[:300]!r}")
            if where in ("/open", "/choices", "/reviews"):
                break
            page += 1
            _, _, html = await conn.get(where)
            items = list(dict.fromkeys(_ITEM.findall(html.decode())))
        if where == "/choices":
            await _choose(conn, seat, salt, chooser or (lambda item, salt, texts: "1"))
        if where == "/reviews":
            await _review(conn, seat, salt, judge or _all_yes)
        words = {f"q_{q.id}": "A simulated answer." for q in load_content().open_questions}
        status, head, _ = await conn.post("/open", {"csrf": seat.csrf, **words})
        if status != 303:
            raise RuntimeError(f"/open: {status} for {pid}")
        return head.get("location", "")


#: A simulated participant's choice: the place ("1" or "2") to pick, given the item, the
#: participant's salt and the pair's action texts by place.
Chooser = Callable[[str, int, Mapping[str, str]], str]
_PAIR = re.compile(
    r'name="c_([a-z0-9_-]+)" value="([12])"[^>]*><span>'
    r'<span class="which">[^<]*</span> ([^<]*)</span>'
)


_SHOWN = re.compile(r'name="shown" value="([0-9a-f]*)"')


def shown_digest(page: str) -> str:
    """The digest of the texts a choice page shows, which its form carries back."""
    found = _SHOWN.search(page)
    return found.group(1) if found else ""


def pairs_shown(page: str) -> dict[str, dict[str, str]]:
    """Item → place → action text, as a choice page shows them."""
    found: dict[str, dict[str, str]] = {}
    for item, place, text in _PAIR.findall(page):
        found.setdefault(item, {})[place] = html.unescape(text)
    return found


async def _choose(conn: Connection, seat: Seat, salt: int, chooser: Chooser) -> None:
    """Every choice page, each pair's place picked by CHOOSER; ends at the open questions."""
    _, head, _ = await conn.get("/choices")
    where = head.get("location", "")
    while where.startswith("/choice/"):
        _, _, page = await conn.get(where)
        pairs = pairs_shown(page.decode())
        form = {f"c_{item}": chooser(item, salt, texts) for item, texts in pairs.items()}
        form["shown"] = shown_digest(page.decode())
        status, head, body = await conn.post(where, {"csrf": seat.csrf, **form})
        if status != 303:
            raise RuntimeError(f"{where}: {status} for {seat.pid}: {body[:300]!r}")
        where = head.get("location", "")
    if where != "/open":
        raise RuntimeError(f"the choices ended at {where!r} for {seat.pid}")


#: A simulated annotator's judgements of one action: criterion → "yes" or "no", given the
#: action's id, its text (without marks) and the annotator's salt.
Judge = Callable[[int, str, int], Mapping[str, str]]
_ACTION = re.compile(r'<section class="action" id="action-([0-9]+)"')
_DEED = re.compile(r'<p class="deed">(.*?)</p>', re.S)
_CRITERIA = ("intended", "harmless", "sufficient", "plausible")


def _all_yes(action_id: int, text: str, salt: int) -> Mapping[str, str]:
    return dict.fromkeys(_CRITERIA, "yes")


def actions_shown(page: str) -> list[tuple[int, str]]:
    """(action id, its text without the marks) for each action on a review page."""
    ids = [int(i) for i in _ACTION.findall(page)]
    texts = [html.unescape(re.sub(r"<[^>]+>", "", t)) for t in _DEED.findall(page)]
    return list(zip(ids, texts, strict=True))


async def _review(conn: Connection, seat: Seat, salt: int, judge: Judge) -> None:
    """Every review page, each action judged by JUDGE; ends at the open questions."""
    _, head, _ = await conn.get("/reviews")
    where = head.get("location", "")
    while where.startswith("/review/"):
        _, _, page = await conn.get(where)
        form: dict[str, str] = {}
        for action_id, text in actions_shown(page.decode()):
            marks = judge(action_id, text, salt)
            form.update({f"{c}_{action_id}": marks[c] for c in _CRITERIA})
        status, head, body = await conn.post(where, {"csrf": seat.csrf, **form})
        if status != 303:
            raise RuntimeError(f"{where}: {status} for {seat.pid}: {body[:300]!r}")
        where = head.get("location", "")
    if where != "/open":
        raise RuntimeError(f"the reviews ended at {where!r} for {seat.pid}")


def submission(port: int, seat: Seat) -> bytes:
    """The bytes of the seat's whole-page POST (built before any clock starts)."""
    conn = Connection(port)
    conn.cookies = dict(seat.cookies)
    form = {"csrf": seat.csrf, **form_answers(seat.items, seat.salt)}
    return conn.build("POST", f"/page/{seat.page}", form)


async def submit_all(port: int, seats: Sequence[Seat], concurrency: int) -> float:
    """Every seat submits its page once, CONCURRENCY at a time, each worker on one connection.

    A seat is acknowledged when the server answers 303. A connection error (a killed server)
    leaves the seat unacknowledged and the worker reconnects for the next. Returns the wall time.
    """
    work = [(seat, submission(port, seat)) for seat in seats]
    queue: asyncio.Queue[tuple[Seat, bytes]] = asyncio.Queue()
    for pair in work:
        queue.put_nowait(pair)

    async def worker() -> None:
        async with Connection(port) as conn:
            while not queue.empty():
                seat, raw = queue.get_nowait()
                start = time.perf_counter()
                try:
                    status, _, _ = await conn.send(raw)
                except (OSError, asyncio.IncompleteReadError):
                    continue
                seat.latencies.append(time.perf_counter() - start)
                seat.acknowledged = status == 303

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


@contextmanager
def fresh_postgres(url: str, prefix: str = "vc_test") -> Iterator[str]:
    """A new, empty database on the server at URL (whose role may create databases), dropped
    afterwards; yields its URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(database_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            _drop(admin, name)
        finally:
            admin.dispose()


def _drop(admin: Engine, name: str, tries: int = 40) -> None:
    """Drop the database NAME, ending its connections. A connection of another role (the
    server's autovacuum worker, which may visit a new database) cannot be ended by ours: it
    is waited out, a quarter second at a time."""
    for attempt in range(tries):
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except DBAPIError as exc:
            if "must be a member of the role" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.25)
