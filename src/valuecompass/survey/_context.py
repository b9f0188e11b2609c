"""What every route needs: settings, store, templates, CSRF, the participant and their step."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

import anyio
import jinja2
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from valuecompass.instrument import AxisLevel
from valuecompass.store import survey as store
from valuecompass.store.survey import context_pairs as store_context
from valuecompass.survey._choices import Pairs
from valuecompass.survey._form import split_pages
from valuecompass.survey._limits import Attempts, HoldLimits
from valuecompass.survey._review import ReviewSet
from valuecompass.survey._security import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Refusal,
    check_csrf,
    csrf_token,
    new_nonce,
)
from valuecompass.survey._settings import SurveySettings
from valuecompass.survey._texts import Texts, build_texts, languages

T = TypeVar("T")
#: The methods of a page: HEAD answers as GET does (the server sends no body).
GET = ["GET", "HEAD"]
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 400
#: Participants whose identity is kept in memory (about 1 KB each); the cache starts afresh
#: when full.
IDENTITY_CACHE = 20_000
#: Worker threads for store calls. More only queue on the GIL and the connection pool
#: (SQLAlchemy's default holds 15); fewer cannot overlap enough PostgreSQL commits.
DB_THREADS = 8


@dataclass(frozen=True)
class Item:
    """One statement of the Value Form as a page shows it."""

    id: str
    number: int
    name: str | None
    definition: str | None
    statement: str


@dataclass(frozen=True)
class Identity:
    """What never changes about a participant: their number, their pages of statements and
    the language they take the survey in."""

    id: int
    pages: tuple[tuple[str, ...], ...]
    language: str


@dataclass
class Survey:
    settings: SurveySettings
    engine: Engine
    env: jinja2.Environment
    secret: bytes
    radios: Callable[[Texts], Any]
    identities: dict[str, Identity] = field(default_factory=dict)
    pairs: Pairs | None = None  # a choice study's pairs of actions
    reviews: ReviewSet | None = None  # a review study's action set

    def __post_init__(self) -> None:
        self.limiter = anyio.CapacityLimiter(DB_THREADS)
        self.limits = HoldLimits(self.settings.holds_per_address, self.settings.holds_per_minute)
        self.attempts = Attempts()
        self.languages = languages(self.settings)
        self.texts = {lang: build_texts(self.settings, lang) for lang in self.languages}
        self.buttons = {lang: self.radios(t) for lang, t in self.texts.items()}
        self.ids = {item: item for item in self.texts[self.languages[0]].statements}

    def language(self, request: Request, participant: store.Participant | None = None) -> str:
        """The language to show: the participant's; else the link's ``lang=``; else the
        best of the browser's ``Accept-Language`` the survey offers; else the first."""
        if participant is not None and participant.language in self.texts:
            return participant.language
        asked = request.query_params.get("lang", "")
        if asked in self.texts:
            return asked
        return best_language(request.headers.get("accept-language", ""), self.languages)

    def words(self, participant: store.Participant) -> Texts:
        return self.texts.get(participant.language or "", self.texts[self.languages[0]])

    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store call in one of a few worker threads, never on the event loop.

        So a store that is slow or locked holds up only the requests that need it: static
        files and every other request are served meanwhile. The threads are the survey's own
        (not the pool static files are read in), so waiting calls cannot starve those either.
        """
        call = functools.partial(fn, self.engine, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=self.limiter)

    def render(
        self,
        request: Request,
        template: str,
        status: int = 200,
        *,
        lang: str | None = None,
        **ctx: Any,
    ) -> Response:
        """Render TEMPLATE (autoescaped) in LANG (else the request's language) with a CSRF
        token, setting the nonce cookie if new.

        The token signs the nonce together with the participant's session key, so it is good
        only in that participant's session."""
        nonce = request.cookies.get(CSRF_COOKIE)
        fresh = not nonce
        nonce = nonce or new_nonce()
        token = csrf_token(self.secret, nonce, request.cookies.get(SESSION_COOKIE, ""))
        texts = self.texts[lang or self.language(request)]
        html = self.env.get_template(template).render(
            csrf=token,
            **texts.template_values(),
            radios=self.buttons[texts.language],
            **ctx,
        )
        response = HTMLResponse(html, status, headers={"cache-control": "no-store"})
        if fresh:
            self.set_cookie(response, CSRF_COOKIE, nonce)
        return response

    def set_cookie(self, response: Response, name: str, value: str) -> None:
        response.set_cookie(
            name,
            value,
            max_age=14 * 24 * 3600,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.settings.secure_cookies,
        )

    async def read_form(self, request: Request, *, before_session: bool = False) -> dict[str, str]:
        """The URL-encoded form of a POST, after its CSRF check; 4xx for anything else.

        BEFORE_SESSION also takes a token made before the participant had a session (the
        consent page, sent again after "Start" was pressed once already)."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != FORM_TYPE:
            raise Refusal(415, "error_form_type")
        form = parse_form(await request.body())
        nonce, token = request.cookies.get(CSRF_COOKIE), form.get("csrf")
        sessions = [request.cookies.get(SESSION_COOKIE, "")]
        if before_session and sessions[0]:
            sessions.append("")
        check_csrf(self.secret, nonce, token, sessions)
        return form

    async def participant(self, request: Request) -> store.Participant | None:
        """The request's participant, read from the store (and remembered by identity)."""
        key = request.cookies.get(SESSION_COOKIE)
        if not key or len(key) > 64:
            return None
        participant = await self.db(store.find_participant, key)
        if participant is not None and key not in self.identities:
            if len(self.identities) >= IDENTITY_CACHE:
                self.identities.clear()
            # The item ids are the instrument's own strings, not copies per participant.
            pages = tuple(tuple(self.ids.get(i, i) for i in p) for p in self.pages(participant))
            language = self.words(participant).language
            self.identities[key] = Identity(participant.id, pages, language)
        return participant

    async def identity(self, request: Request) -> Identity | None:
        """The request's participant's number and pages, kept in memory once looked up.

        Only what cannot change is kept, so the cache is never stale; where the participant
        is on the path is always read from the store.
        """
        key = request.cookies.get(SESSION_COOKIE)
        known = self.identities.get(key) if key else None
        if known is None and await self.participant(request) is not None and key:
            known = self.identities.get(key)
        return known

    def pages(self, participant: store.Participant) -> list[list[str]]:
        """The participant's pages, as many statements each as when they consented."""
        per_page = participant.items_per_page or self.settings.items_per_page
        return split_pages(participant.item_order, per_page)

    def items(self, participant: store.Participant, page: int) -> list[Item]:
        """The statements of PAGE (1-based), numbered through the whole form."""
        pages = self.pages(participant)
        first = sum(len(p) for p in pages[: page - 1])
        statements = self.words(participant).statements
        return [
            Item(item, first + i + 1, *statements[item]) for i, item in enumerate(pages[page - 1])
        ]

    def scenario(self, participant: store.Participant) -> AxisLevel:
        """The participant's scenario (a level of the scenario axis), in their language."""
        return self.words(participant).scenarios[participant.scenario or ""]

    def context(self, participant: store.Participant) -> list[tuple[str, AxisLevel]]:
        """The participant's levels of the further assigned axes (after the scenario axis),
        each with its axis's name, in their language; none for the Value Form."""
        words = self.words(participant)
        found = []
        for axis_id, level in store_context(participant.context):
            axis = words.axes.get(axis_id)
            if axis is not None and level in axis.level_ids:
                found.append((axis.name, axis.level(level)))
        return found

    def where(self, participant: store.Participant) -> str:
        """The page the participant should be on now."""
        if participant.step == "form":
            return f"/page/{min(participant.form_page + 1, len(self.pages(participant)))}"
        return {
            "demographics": "/demographics",
            "vignette": "/vignette",
            "choice": "/choices",
            "review": "/reviews",
            "open": "/open",
            "done": "/done",
            "full": "/full",
        }.get(participant.step, "/")


def best_language(header: str, offered: tuple[str, ...]) -> str:
    """The language of OFFERED an ``Accept-Language`` HEADER likes best (``de-CH`` matches
    ``de``); the first offered when it likes none. Ties keep the header's order."""
    ranked = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        code = tag.strip().lower().split("-")[0]
        if code in offered and weight > 0:
            ranked.append((-weight, i, code))
    return min(ranked)[2] if ranked else offered[0]


def parse_form(body: bytes) -> dict[str, str]:
    """A URL-encoded body as a dict; a field sent twice, a NUL or bad UTF-8 is a 400.

    Fields are split by hand and only those with escapes are unquoted: a Value Form page has
    some 60 fields, and this is several times faster than :func:`urllib.parse.parse_qsl`.
    """
    form: dict[str, str] = {}
    if not body:
        return form
    fields = body.split(b"&")
    if len(fields) > MAX_FIELDS:
        raise Refusal(400, "error_too_many_fields")
    try:
        for field_ in fields:
            raw_name, _, raw_value = field_.partition(b"=")
            name, value = _unquote(raw_name), _unquote(raw_value)
            if name in form:
                raise Refusal(400, "error_field_twice", name=repr(name))
            if "\x00" in value or "\x00" in name:
                raise Refusal(400, "error_bad_character")
            form[name] = value
    except UnicodeDecodeError as exc:
        raise Refusal(400, "error_not_utf8") from exc
    return form


def _unquote(raw: bytes) -> str:
    if b"%" in raw or b"+" in raw:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    return raw.decode("utf-8")


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


class Moved(Exception):
    """The participant is elsewhere on the path: send them there."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


async def require(survey: Survey, request: Request, steps: tuple[str, ...]) -> store.Participant:
    """The request's participant, who must be at one of STEPS; else :class:`Moved`."""
    participant = await survey.participant(request)
    if participant is None:
        raise Moved("/")
    if participant.step not in steps:
        raise Moved(survey.where(participant))
    return participant
