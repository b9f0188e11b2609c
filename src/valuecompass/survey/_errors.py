"""What a browser gets when something goes wrong: a page in plain words and a status code.

Never a stack trace: a crash is logged once (one traceback, here, not again by the server), a
client that went away mid-request is one line, and a store that is locked or unreachable is a
503 with ``Retry-After`` as soon as the survey's short lock wait runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import jinja2
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response

from valuecompass.survey._context import Moved, redirect
from valuecompass.survey._security import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("valuecompass.survey")

#: Seconds a browser is asked to wait before trying again when the store is busy.
RETRY_AFTER = 5
TITLES = {
    400: "Something in the form was not right",
    401: "Please log in",
    403: "Not allowed",
    404: "There is no such page",
    405: "That page cannot be used this way",
    409: "Already taken part",
    413: "Too much was sent",
    415: "That cannot be read",
    429: "Many people are starting right now",
    500: "Something went wrong on our side",
    503: "Busy for a moment",
}
FALLBACK = (
    b"<!doctype html><html lang='en'><meta charset='utf-8'><title>Error</title>"
    b"<p>Something went wrong on our side. Your saved answers are safe; please try again.</p>"
)
BUSY = (
    "The survey is very busy for a moment. Your saved answers are safe: please wait a few "
    "seconds and send the page again."
)


def error_html(env: jinja2.Environment, status: int, message: str) -> bytes:
    title = TITLES.get(status, "Something went wrong")
    return env.get_template("error.html").render(title=title, message=message).encode()


def error_pages(app: FastAPI, env: jinja2.Environment) -> None:
    """Handlers for the app's expected failures (crashes are :class:`Crashes`' job)."""

    async def moved(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Moved)
        return redirect(exc.url)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        message = exc.detail if status not in (404, 405) else plain(status)
        return HTMLResponse(error_html(env, status, message), status, headers=exc.headers)

    async def bad_address(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        in_path = any(e.get("loc", ("",))[0] == "path" for e in exc.errors())
        status = 404 if in_path else 400
        message = plain(404) if in_path else "The address has a setting that is not valid."
        return HTMLResponse(error_html(env, status, message), status)

    async def busy(request: Request, exc: Exception) -> Response:
        reason = getattr(exc, "orig", None) or exc
        if isinstance(exc, OperationalError) and not store_busy(exc):
            raise exc  # a broken store, not a busy one: a crash (500, logged once)
        log.warning("survey: %s %s: store busy (%s)", request.method, request.url.path, reason)
        headers = {"retry-after": str(RETRY_AFTER), "cache-control": "no-store"}
        return HTMLResponse(error_html(env, 503, BUSY), 503, headers=headers)

    app.add_exception_handler(Moved, moved)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, bad_address)
    app.add_exception_handler(OperationalError, busy)
    app.add_exception_handler(PoolTimeout, busy)


#: PostgreSQL error classes of a store that is busy or briefly unreachable: lock wait or
#: statement timed out, serialization failure, deadlock, connection exception.
_BUSY_STATES = ("55P03", "57014", "40001", "40P01")
_BUSY_WORDS = ("locked", "busy", "timeout", "timed out", "connection")


def store_busy(exc: OperationalError) -> bool:
    """Whether EXC means "try again in a moment" rather than a broken store or query."""
    state = getattr(exc.orig, "sqlstate", None)
    if isinstance(state, str):
        return state in _BUSY_STATES or state.startswith("08")
    text = str(exc.orig).lower()
    return any(word in text for word in _BUSY_WORDS)


def plain(status: int) -> str:
    if status == 404:
        return "The address may be mistyped. To carry on with the survey, open your study link."
    return "This page cannot be used that way."


class Crashes:
    """Pure ASGI middleware: an unexpected exception is logged once and answered with a 500
    page (when no response has started); a client that disconnected is one line in the log.

    It sits inside the framework's own error middleware, so that one never sees the exception
    and the server does not log a second traceback.
    """

    def __init__(self, app: ASGIApp, *, page: Callable[[], bytes]) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        where = f"{scope.get('method')} {scope.get('path')}"
        try:
            await self.app(scope, receive, sending)
        except ClientDisconnect:
            log.info("survey: %s: the client went away before sending the whole request", where)
        except Exception as exc:
            log.error("survey: %s failed", where, exc_info=exc)
            if not started:
                await self._reply(send)

    async def _reply(self, send: Send) -> None:
        try:
            body = self.page()
        except Exception:  # the error page itself failed: a fixed page
            body = FALLBACK
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})
