"""What the HTTP backends (``openai``, ``anthropic``) share.

One aiohttp session and connection pool per event loop; the request budgets and the 429s that
slow them down (:mod:`valuecompass.models._ratelimit`); Retry-After; the checks of the options
every HTTP backend takes (``timeout``, ``max_concurrency``, ``rpm``, ``tpm``, the URL); and the
API key kept out of every message. The runner drives :meth:`HTTPBackend.acomplete` from one
event loop for the whole run (in its request process); :meth:`HTTPBackend.complete` (for
callers without a loop) runs the same coroutine on a loop thread of the backend's own.

A backend says how a request becomes a body (``_body``), which answers are failures
(``_check``) and how a reply becomes a completion (``_read``).
"""

from __future__ import annotations

import asyncio
import email.utils
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import urlparse

import aiohttp

from valuecompass.models._base import Completion, ConfigError, Request, TransientError
from valuecompass.models._ratelimit import RateLimiter, estimate_tokens

LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}

#: The options every HTTP backend takes, with their help lines.
COMMON_OPTIONS = {
    "timeout": "seconds before a request is given up and retried (default 120)",
    "max_concurrency": "most requests in flight, whatever --concurrency says (default 1024)",
    "rpm": "requests per minute at most (a token bucket; default: no limit, 429s slow it down)",
    "tpm": "tokens per minute at most (input, estimated as characters / 4, plus max_tokens, "
    "settled with the reply's usage; default: no limit)",
}


def retry_after(headers: Any) -> float | None:
    """The server's Retry-After in seconds (a number or an HTTP date), or None."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def plain(obj: Any) -> Any:
    """orjson's fallback: a message given as another kind of mapping is sent as a dict."""
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"cannot send a {type(obj).__name__} in a request body")


def check_url(name: str, base_url: str) -> str:
    """BASE_URL's host; a URL that is not http(s) is refused, naming backend NAME."""
    try:
        parsed = urlparse(base_url)
        host = parsed.hostname
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise ConfigError(f"{name}: {base_url!r} is not a valid URL ({exc})") from exc
    if not parsed.scheme.startswith("http") or not host:
        raise ConfigError(f"{name}: {base_url!r} is not an http(s) URL")
    return host


def _budget(name: str, option: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{name}: option {option} must be a positive number, got {value!r}")
    return float(value)


def check_common(name: str, timeout: Any, max_concurrency: Any) -> None:
    """Options arrive from ``-M key=value`` as JSON or strings: refuse the wrong kinds."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{name}: option timeout must be a positive number, got {timeout!r}")
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
        raise ConfigError(
            f"{name}: option max_concurrency must be a whole number, got {max_concurrency!r}"
        )
    if max_concurrency < 1:
        raise ConfigError(f"{name}: option max_concurrency must be >= 1, got {max_concurrency}")


class HTTPBackend:
    """The part of an HTTP backend that sends requests: sessions, budgets, retries' hints."""

    #: The backend's name, in messages.
    name: ClassVar[str] = "http"

    identity: str
    base_url: str

    def _start_http(
        self,
        url: str,
        headers: Mapping[str, str],
        secret: str | None,
        timeout: Any = 120.0,
        max_concurrency: Any = 1024,
        rpm: Any = None,
        tpm: Any = None,
    ) -> None:
        """Set up sending to URL with HEADERS on every request; SECRET (the key) is taken out
        of every message the backend makes."""
        check_common(self.name, timeout, max_concurrency)
        self.limiter = RateLimiter(_budget(self.name, "rpm", rpm), _budget(self.name, "tpm", tpm))
        self.max_concurrency = max_concurrency
        self.timeout = float(timeout)
        self._url = url
        self._headers = dict(headers)
        self._secret = secret or None
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._lock = threading.Lock()
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._own_thread: threading.Thread | None = None

    def __repr__(self) -> str:  # never the headers: they hold the key
        return f"<{type(self).__name__} {self.identity}>"

    def redact(self, text: str) -> str:
        """TEXT without the backend's key (a server that echoes it back, say)."""
        return text.replace(self._secret, "***") if self._secret else text

    def detail(self, payload: bytes) -> str:
        """A failed answer's body, shortened, for a message."""
        return self.redact(payload[:300].decode("utf-8", errors="replace"))

    def malformed(self, payload: bytes) -> TransientError:
        """The error for a reply that cannot be read (worth retrying)."""
        return TransientError(self.redact(f"malformed response body: {payload[:200]!r}"))

    def _body(self, request: Request) -> bytes:
        raise NotImplementedError

    def _check(self, status: int, headers: Any, payload: bytes) -> None:
        raise NotImplementedError

    def _read(self, payload: bytes, request: Request) -> Completion:
        raise NotImplementedError

    def _session(self) -> aiohttp.ClientSession:
        """The running loop's session (one connection pool per loop), made on first use."""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=self.max_concurrency, ttl_dns_cache=300)
            session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
            with self._lock:
                self._sessions[loop] = session
        return session

    async def acomplete(self, request: Request) -> Completion:
        """One request, on the running event loop, once the budgets let it go."""
        body = self._body(request)
        ticket = await self.limiter.acquire(estimate_tokens(request.messages, request.max_tokens))
        session = self._session()
        try:
            async with session.post(self._url, data=body) as resp:
                status, headers = resp.status, resp.headers
                payload = await resp.read()
        except TimeoutError as exc:
            raise TransientError(f"timed out after {self.timeout:g} s") from exc
        except aiohttp.ClientError as exc:
            raise TransientError(self.redact(f"cannot reach {self.base_url}: {exc}")) from exc
        if status == 429:
            self.limiter.limited(ticket, retry_after(headers))
        self._check(status, headers, payload)
        completion = self._read(payload, request)
        used = (
            completion.prompt_tokens + completion.completion_tokens
            if completion.prompt_tokens is not None and completion.completion_tokens is not None
            else None
        )
        self.limiter.settle(ticket, used)
        return completion

    async def aclose(self) -> None:
        """Close the running loop's session (the runner calls it as its loop ends)."""
        with self._lock:
            session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def _loop(self) -> asyncio.AbstractEventLoop:
        """The backend's own loop thread, for :meth:`complete`; started on first use."""
        with self._lock:
            if self._own_loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name=f"vc-{self.name}", daemon=True
                )
                thread.start()
                self._own_loop, self._own_thread = loop, thread
            return self._own_loop

    def complete(self, request: Request) -> Completion:
        """One request from a caller without an event loop (blocks until answered)."""
        return asyncio.run_coroutine_threadsafe(self.acomplete(request), self._loop()).result()

    # The batch endpoints: few calls, each from the runner's thread on the backend's own loop.

    async def _acall(
        self, method: str, url: str, data: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any, bytes]:
        session = self._session()
        try:
            async with session.request(method, url, data=data, headers=headers) as resp:
                return resp.status, resp.headers, await resp.read()
        except TimeoutError as exc:
            raise TransientError(f"timed out after {self.timeout:g} s") from exc
        except aiohttp.ClientError as exc:
            raise TransientError(self.redact(f"cannot reach {self.base_url}: {exc}")) from exc

    def call(
        self, method: str, url: str, data: Any = None, headers: Mapping[str, str] | None = None
    ) -> bytes:
        """One request to URL (not a completion), its failures as :meth:`_check` says; the
        reply's body. DATA is a body (bytes) or a form (``aiohttp.FormData``)."""
        future = asyncio.run_coroutine_threadsafe(
            self._acall(method, url, data, headers), self._loop()
        )
        status, got, payload = future.result()
        self._check(status, got, payload)
        return payload

    def lines(self, url: str, headers: Mapping[str, str] | None = None) -> Iterator[bytes]:
        """The lines of a JSONL file at URL, each as it arrives (a large file is never held
        whole); a failure as :meth:`_check` says."""
        chunks: queue.Queue[bytes | BaseException | None] = queue.Queue()

        async def pump() -> None:
            try:
                timeout = aiohttp.ClientTimeout(total=None, sock_read=self.timeout)
                session = self._session()
                async with session.get(url, headers=headers, timeout=timeout) as resp:
                    if resp.status >= 400:
                        self._check(resp.status, resp.headers, await resp.read())
                    async for chunk in resp.content.iter_any():
                        chunks.put(chunk)
                chunks.put(None)
            except TimeoutError:
                chunks.put(TransientError(f"timed out after {self.timeout:g} s"))
            except aiohttp.ClientError as exc:
                chunks.put(TransientError(self.redact(f"cannot reach {self.base_url}: {exc}")))
            except BaseException as exc:
                chunks.put(exc)

        done = asyncio.run_coroutine_threadsafe(pump(), self._loop())
        rest = b""
        try:
            while True:
                chunk = chunks.get()
                if chunk is None:
                    break
                if isinstance(chunk, BaseException):
                    raise chunk
                parts = (rest + chunk).split(b"\n")
                rest = parts.pop()
                yield from (p for p in parts if p.strip())
            if rest.strip():
                yield rest
        finally:
            done.cancel()

    def close(self) -> None:
        with self._lock:
            loop, thread = self._own_loop, self._own_thread
            self._own_loop = self._own_thread = None
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
