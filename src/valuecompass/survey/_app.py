"""The survey's web app, from a factory that takes its settings and its store.

Pages are rendered on the server and work without JavaScript. Whatever goes wrong, a browser
gets a page in plain words and a status code: never a stack trace (see :mod:`._errors`). Store
calls run in worker threads, so static files and other requests never wait on the store.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from urllib.parse import urlsplit

import jinja2
from fastapi import FastAPI
from markupsafe import Markup, escape
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.staticfiles import StaticFiles

from valuecompass.store import survey as store
from valuecompass.survey._choices import load_pairs
from valuecompass.survey._context import Survey
from valuecompass.survey._errors import (
    Crashes,
    error_html,
    error_pages,
    known_texts,
    message_of,
    participant_texts,
)
from valuecompass.survey._review import load_review_set
from valuecompass.survey._routes import path_routes
from valuecompass.survey._routes_admin import admin_routes
from valuecompass.survey._routes_choice import choice_routes
from valuecompass.survey._routes_form import form_routes
from valuecompass.survey._routes_review import review_routes
from valuecompass.survey._security import Guard, Refusal, Scope, security_headers
from valuecompass.survey._settings import SurveySettings
from valuecompass.survey._sqlite import Checkpointer, short_waits, take_over_checkpoints
from valuecompass.survey._study import open_study
from valuecompass.survey._texts import Option, Texts


def create_app(settings: SurveySettings, engine: Engine) -> FastAPI:
    """The survey app for SETTINGS, storing in ENGINE (opened with :func:`open_store`).

    Raises :class:`SurveyConfigError` when SETTINGS would break the study's participants in
    progress (an instrument without an item or scenario they were given, an action set in
    which a pair dealt to them is gone or reworded)."""
    env = _templates()
    pairs = load_pairs(settings, engine)
    open_study(settings, engine, pairs)
    short_waits(engine, settings.db_wait_seconds)
    secret = store.secret(engine, "csrf", secrets.token_hex(32)).encode()
    survey = Survey(
        settings,
        engine,
        env,
        secret,
        radios=_radios,
        pairs=pairs,
        reviews=load_review_set(settings, engine),
    )
    first = survey.texts[survey.languages[0]]  # what pages without a language show
    env.globals.update(
        content=first.content, ui=first.ui, t=first.t, path=first.path, lang=first.language
    )
    app = FastAPI(
        title=settings.content.title,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan(engine),
        redirect_slashes=False,  # its redirects are absolute URLs built from the Host header
    )
    app.include_router(path_routes(survey))
    app.include_router(form_routes(survey))
    app.include_router(choice_routes(survey))
    app.include_router(review_routes(survey))
    app.include_router(admin_routes(survey))
    static = resources.files("valuecompass.survey").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    error_pages(app, env, survey)

    async def refuse(refusal: Refusal, scope: Scope) -> bytes:
        texts = await participant_texts(survey, Request(scope))
        return error_html(env, texts, refusal.status_code, message_of(texts, refusal))

    def crashed(scope: Scope) -> bytes:
        texts = known_texts(survey, Request(scope))
        return error_html(env, texts, 500, texts.t("error_crashed"))

    targets = []
    if settings.completion_url and settings.redirect_on_complete:
        parts = urlsplit(settings.completion_url)
        targets.append(f"{parts.scheme}://{parts.netloc}")
    app.add_middleware(Crashes, page=crashed)  # inside Guard, so its pages get the headers
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


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("valuecompass.survey", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _radios(texts: Texts) -> Radios:
    return Radios(texts.options)


class Radios:
    """The radio buttons of one statement, as escaped HTML.

    The Value Form page has some 350 of them; built here from pieces escaped once, they cost
    a fiftieth of what a template loop does.
    """

    def __init__(self, options: Sequence[Option]) -> None:
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
