"""The survey's web app, from a factory that takes its settings and its store.

Pages are rendered on the server and work without JavaScript. Whatever goes wrong, a browser
gets a page in plain words and a status code: never a stack trace (those go to the log).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from urllib.parse import urlsplit

import jinja2
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from markupsafe import Markup, escape
from sqlalchemy import Engine
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from valuecompass.instrument import ScaleOption
from valuecompass.store import survey as store
from valuecompass.survey._context import PATH, Moved, Survey, redirect
from valuecompass.survey._routes import path_routes
from valuecompass.survey._routes_admin import admin_routes
from valuecompass.survey._routes_form import form_routes
from valuecompass.survey._security import Guard, security_headers
from valuecompass.survey._settings import SurveySettings
from valuecompass.survey._sqlite import Checkpointer, take_over_checkpoints

log = logging.getLogger("valuecompass.survey")

TITLES = {
    400: "Something in the form was not right",
    401: "Please log in",
    403: "Not allowed",
    404: "There is no such page",
    405: "That page cannot be used this way",
    409: "Already taken part",
    413: "Too much was sent",
    415: "That cannot be read",
    500: "Something went wrong on our side",
}
_FALLBACK = (
    b"<!doctype html><html lang='en'><meta charset='utf-8'><title>Error</title>"
    b"<p>Something went wrong on our side. Your saved answers are safe; please try again.</p>"
)


def create_app(settings: SurveySettings, engine: Engine) -> FastAPI:
    """The survey app for SETTINGS, storing in ENGINE (opened with :func:`open_store`)."""
    env = _templates(settings)
    secret = store.secret(engine, "csrf", secrets.token_hex(32)).encode()
    survey = Survey(settings, engine, env, secret)
    app = FastAPI(
        title=settings.content.title,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan(engine),
    )
    app.include_router(path_routes(survey))
    app.include_router(form_routes(survey))
    app.include_router(admin_routes(survey))
    static = resources.files("valuecompass.survey").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    _error_pages(app, survey)

    async def refuse(status: int, message: str) -> bytes:
        return _error_html(env, status, message)

    targets = []
    if settings.completion_url and settings.redirect_on_complete:
        parts = urlsplit(settings.completion_url)
        targets.append(f"{parts.scheme}://{parts.netloc}")
    app.add_middleware(
        Guard,
        max_body=settings.max_body_bytes,
        headers=security_headers(targets),
        refuse=refuse,
    )
    return app


def _lifespan(engine: Engine) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """While serving, a SQLite store is checkpointed by a thread, not inside requests."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        checkpointer = Checkpointer(engine)
        take_over_checkpoints(engine)
        checkpointer.start()
        try:
            yield
        finally:
            checkpointer.stop()

    return lifespan


def _templates(settings: SurveySettings) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("valuecompass.survey", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        content=settings.content,
        path=PATH,
        radios=Radios(settings.instrument.scales.human.options),
    )
    return env


class Radios:
    """The radio buttons of one statement, as escaped HTML.

    The Value Form page has some 350 of them; built here from pieces escaped once, they cost
    a fiftieth of what a template loop does.
    """

    def __init__(self, options: Sequence[ScaleOption]) -> None:
        self.options = [(str(escape(o.code)), str(escape(o.label)), o.code) for o in options]

    def __call__(self, item: str, chosen: str | None) -> Markup:
        name = escape("r_" + item)
        html = []
        for i, (code, label, raw) in enumerate(self.options):
            flags = (" checked" if raw == chosen else "") + (" required" if i == 0 else "")
            html.append(
                f'<label class="opt"><input type="radio" name="{name}" value="{code}"{flags}>'
                f"<span>{label}</span></label>"
            )
        return Markup("".join(html))


def _error_html(env: jinja2.Environment, status: int, message: str) -> bytes:
    title = TITLES.get(status, "Something went wrong")
    return env.get_template("error.html").render(title=title, message=message).encode()


def _error_pages(app: FastAPI, survey: Survey) -> None:
    async def moved(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Moved)
        return redirect(exc.url)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        message = exc.detail if status not in (404, 405) else _plain(status)
        body = _error_html(survey.env, status, message)
        return HTMLResponse(body, status, headers=exc.headers)

    async def bad_address(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        in_path = any(e.get("loc", ("",))[0] == "path" for e in exc.errors())
        status = 404 if in_path else 400
        message = _plain(404) if in_path else "The address has a setting that is not valid."
        return HTMLResponse(_error_html(survey.env, status, message), status)

    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("survey: %s %s failed", request.method, request.url.path, exc_info=exc)
        try:
            message = "Your saved answers are safe. Please go back and try again in a moment."
            return HTMLResponse(_error_html(survey.env, 500, message), 500)
        except Exception:  # the error page itself failed: a fixed page
            return HTMLResponse(_FALLBACK, 500)

    app.add_exception_handler(Moved, moved)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, bad_address)
    app.add_exception_handler(Exception, crashed)


def _plain(status: int) -> str:
    if status == 404:
        return "The address may be mistyped. To carry on with the survey, open your study link."
    return "This page cannot be used that way."
