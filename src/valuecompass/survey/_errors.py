"""What a browser gets when something goes wrong: a page in plain words and a status code.

Every page is in the participant's language (their session's, else the link's ``lang=`` or the
browser's), from the same ui texts as the other pages. Never a stack trace: a crash is logged
once (one traceback, here, not again by the server), a client that went away mid-request is one
line, and a store that is locked or unreachable is a 503 with ``Retry-After`` as soon as the
survey's short lock wait runs out.
"""

from __future__ import annotations

import contextlib
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

from valuecompass.survey._context import Moved, Survey, redirect
from valuecompass.survey._security import (
    SESSION_COOKIE,
    ASGIApp,
    Message,
    Receive,
    Refusal,
    Scope,
    Send,
)
from valuecompass.survey._texts import Texts

log = logging.getLogger("valuecompass.survey")

#: Seconds a browser is asked to wait before trying again when the store is busy.
RETRY_AFTER = 5
FALLBACK = (
    b"<!doctype html><html lang='en'><meta charset='utf-8'><title>Error</title>"
    b"<p>Something went wrong on our side. Your saved answers are safe; please try again.</p>"
)


def error_html(env: jinja2.Environment, texts: Texts, status: int, message: str) -> bytes:
    """The error page for STATUS saying MESSAGE, in TEXTS' language."""
    key = f"error_title_{status}"
    title = texts.t(key if key in texts.ui else "error_title_other")
    page = env.get_template("error.html").render(
        title=title, message=message, **texts.template_values()
    )
    return page.encode()


def message_of(texts: Texts, exc: HTTPException) -> str:
    """What the page says for EXC: its ui text in TEXTS' language (a :class:`Refusal`, a 404,
    a 405), else the framework's own detail."""
    if isinstance(exc, Refusal):
        return texts.t(exc.key, **exc.values)
    if exc.status_code in (404, 405):
        return texts.t("error_not_found" if exc.status_code == 404 else "error_wrong_method")
    return str(exc.detail)


def known_texts(survey: Survey, request: Request) -> Texts:
    """The texts in the language of the request's participant as far as known without the
    store (a participant seen before), else of the link or the browser."""
    key = request.cookies.get(SESSION_COOKIE)
    who = survey.identities.get(key) if key else None
    return survey.texts[who.language if who else survey.language(request)]


async def participant_texts(survey: Survey, request: Request) -> Texts:
    """:func:`known_texts`, after looking the participant up in the store if need be (a store
    that fails then is no matter: the link's or browser's language is used)."""
    key = request.cookies.get(SESSION_COOKIE)
    if key and key not in survey.identities:
        with contextlib.suppress(Exception):
            await survey.participant(request)
    return known_texts(survey, request)


def error_pages(app: FastAPI, env: jinja2.Environment, survey: Survey) -> None:
    """Handlers for the app's expected failures (crashes are :class:`Crashes`' job), each page
    in the participant's language."""

    async def moved(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Moved)
        return redirect(exc.url)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        texts = await participant_texts(survey, request)
        body = error_html(env, texts, exc.status_code, message_of(texts, exc))
        return HTMLResponse(body, exc.status_code, headers=exc.headers)

    async def bad_address(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        in_path = any(e.get("loc", ("",))[0] == "path" for e in exc.errors())
        status = 404 if in_path else 400
        texts = await participant_texts(survey, request)
        message = texts.t("error_not_found" if in_path else "error_bad_address")
        return HTMLResponse(error_html(env, texts, status, message), status)

    async def busy(request: Request, exc: Exception) -> Response:
        reason = getattr(exc, "orig", None) or exc
        if isinstance(exc, OperationalError) and not store_busy(exc):
            raise exc  # a broken store, not a busy one: a crash (500, logged once)
        log.warning("survey: %s %s: store busy (%s)", request.method, request.url.path, reason)
        headers = {"retry-after": str(RETRY_AFTER), "cache-control": "no-store"}
        texts = known_texts(survey, request)  # the store is busy: not asked again
        return HTMLResponse(
            error_html(env, texts, 503, texts.t("error_busy")), 503, headers=headers
        )

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


class Crashes:
    """Pure ASGI middleware: an unexpected exception is logged once and answered with a 500
    page (when no response has started); a client that disconnected is one line in the log.

    It sits inside the framework's own error middleware, so that one never sees the exception
    and the server does not log a second traceback.
    """

    def __init__(self, app: ASGIApp, *, page: Callable[[Scope], bytes]) -> None:
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
                await self._reply(scope, send)

    async def _reply(self, scope: Scope, send: Send) -> None:
        try:
            body = self.page(scope)
        except Exception:  # the error page itself failed: a fixed page
            body = FALLBACK
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})
