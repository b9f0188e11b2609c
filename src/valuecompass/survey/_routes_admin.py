"""The researchers' page: counts per cell, exclusions, recent open answers, downloads; in a
choice study also the choices made per cell and their download.

Open only with the admin token, given once on a login form or as ``Authorization: Bearer
TOKEN`` for scripts. Logging in starts a server-side session: the cookie holds a random session
id, the store its SHA-256, and logging out deletes it, so a copied cookie opens nothing after
logout (nor after ``ADMIN_HOURS``). Token checks are constant-time, and wrong tokens are
throttled per address and overall (``survey._limits.Attempts``): past the bound a token is
answered 429 with ``Retry-After`` without being checked. Without a configured token the pages
do not exist (404).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass

import pandas as pd
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from valuecompass.store import survey as store
from valuecompass.store.survey import context_pairs
from valuecompass.survey._context import GET, Survey, redirect
from valuecompass.survey._security import ADMIN_COOKIE, Refusal, same_token
from valuecompass.survey._settings import SurveySettings

#: How long an admin session lasts after logging in.
ADMIN_HOURS = 12


class TooManyTries(Exception):
    """Too many wrong tokens from this address (or from all): WAIT seconds to go."""

    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


@dataclass(frozen=True)
class Row:
    country: str
    cells: list[tuple[int, int, int]]  # per scenario: completed, in progress, excluded


@dataclass(frozen=True)
class ChoiceRow:
    """One cell's choices: its name, participants who chose, choices, share expressing."""

    cell: str
    participants: int
    choices: int
    share: str


def admin_routes(survey: Survey) -> APIRouter:
    router = APIRouter()
    token = survey.settings.admin_token

    def presented(request: Request, given: str) -> bool:
        """Whether GIVEN is the token; a wrong one counts against the request's address, and
        past the bound nothing is checked (429)."""
        address = request.client.host if request.client else ""
        wait = survey.attempts.wait(address)
        if wait is not None:
            raise TooManyTries(wait)
        if same_token(given, token):
            return True
        survey.attempts.failed(address)
        return False

    async def allowed(request: Request) -> bool:
        if token is None:
            raise Refusal(404, "error_not_found")
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer " and presented(request, header[7:].strip()):
            return True
        session = request.cookies.get(ADMIN_COOKIE)
        if not session or len(session) > 128:
            return False
        valid: bool = await survey.db(store.admin_session_valid, _digest(session))
        return valid

    def login(request: Request, status: int, error: str | None = None) -> Response:
        return survey.render(request, "admin_login.html", status, error=error)

    @router.api_route("/admin/", methods=GET)
    async def admin_slash(request: Request) -> Response:
        return redirect("/admin")  # relative: never a URL built from the Host header

    def slow_down(request: Request, refused: TooManyTries) -> Response:
        minutes = math.ceil(refused.wait / 60)
        said = f"Too many wrong tokens were tried; try again in {minutes} minute(s)."
        response = login(request, 429, said)
        response.headers["retry-after"] = str(math.ceil(refused.wait))
        return response

    @router.api_route("/admin", methods=GET)
    async def admin(request: Request) -> Response:
        try:
            if not await allowed(request):
                return login(request, 401)
        except TooManyTries as refused:
            return slow_down(request, refused)
        return await _dashboard(survey, request)

    @router.post("/admin/login")
    async def admin_login(request: Request) -> Response:
        form = await survey.read_form(request)
        if token is None:
            raise Refusal(404, "error_not_found")
        try:
            right = presented(request, form.get("token", ""))
        except TooManyTries as refused:
            return slow_down(request, refused)
        if not right:
            return login(request, 403, "That token is not right.")
        session = secrets.token_urlsafe(32)
        await survey.db(store.start_admin_session, _digest(session), ADMIN_HOURS * 3600)
        response = redirect("/admin")
        survey.set_cookie(response, ADMIN_COOKIE, session)
        return response

    @router.post("/admin/logout")
    async def admin_logout(request: Request) -> Response:
        await survey.read_form(request)
        session = request.cookies.get(ADMIN_COOKIE)
        if session and len(session) <= 128:
            await survey.db(store.end_admin_session, _digest(session))
        response = redirect("/admin")
        response.delete_cookie(ADMIN_COOKIE, path="/")
        return response

    async def download(request: Request) -> Response | None:
        """``None`` where the request may download; else the page that says why not."""
        try:
            if await allowed(request):
                return None
        except TooManyTries as refused:
            return slow_down(request, refused)
        raise Refusal(401, "error_log_in_first")

    @router.api_route("/admin/answers.csv", methods=GET)
    async def answers_csv(request: Request, include_excluded: bool = False) -> Response:
        if (refused := await download(request)) is not None:
            return refused
        table = await survey.db(
            store.human_answers,
            survey.settings.instrument,
            include_excluded=include_excluded,
            axes=(survey.settings.asked_axis, survey.settings.scenario_axis),
        )
        return _csv(table, "survey-answers.csv")

    @router.api_route("/admin/choices.csv", methods=GET)
    async def choices_csv(request: Request, include_excluded: bool = False) -> Response:
        if (refused := await download(request)) is not None:
            return refused
        table = await survey.db(
            store.human_choices,
            survey.settings.instrument,
            include_excluded=include_excluded,
            axes=(survey.settings.asked_axis, survey.settings.scenario_axis),
            shown_first=True,
        )
        return _csv(table, "survey-choices.csv")

    @router.api_route("/admin/participants.csv", methods=GET)
    async def participants_csv(request: Request) -> Response:
        if (refused := await download(request)) is not None:
            return refused
        axes = (survey.settings.asked_axis, *survey.settings.assigned_axes)
        table = await survey.db(store.participants_frame, spreadsheet_safe=True, axes=axes)
        return _csv(table, "survey-participants.csv")

    return router


def _digest(session: str) -> str:
    return hashlib.sha256(session.encode()).hexdigest()


async def _dashboard(survey: Survey, request: Request) -> Response:
    counts = await survey.db(store.cell_counts)
    people = await survey.db(store.participants_frame)
    texts = await survey.db(store.latest_texts, 20)
    settings = survey.settings
    instrument = settings.instrument
    levels = instrument.axis(settings.asked_axis).levels
    countries = [(c.id, c.name) for c in levels] + [("other", "Other")]
    columns = _columns(settings)
    by_cell = {(c.scenario, c.country, c.context): c for c in counts}
    rows = []
    for country, name in countries:
        cells = []
        for scenario, context, _ in columns:
            c = by_cell.get((scenario, country, context))
            cells.append((c.completed, c.in_progress, c.excluded) if c else (0, 0, 0))
        rows.append(Row(name, cells))
    excluded = people[people["excluded"].fillna(False).astype(bool)]
    chosen = None
    if settings.action_set is not None:
        names = dict(countries)
        heads = {(scenario, context): label for scenario, context, label in columns}
        chosen = [
            ChoiceRow(
                " · ".join(
                    [names.get(c.country or "", c.country or ""),
                     heads.get((c.scenario or "", c.context), c.scenario or "")]
                ),
                c.participants,
                c.choices,
                f"{c.expressing / c.choices:.3f}",
            )
            for c in await survey.db(store.choice_counts)
        ]  # fmt: skip
    return survey.render(
        request,
        "admin.html",
        columns=[label for _, _, label in columns],
        asked=None
        if settings.asked_axis == "country"
        else instrument.axis(settings.asked_axis).name,
        cells_by=_cells_by(settings),
        rows=rows,
        turned_away=sum(c.turned_away for c in counts),
        excluded=excluded.to_dict("records"),
        texts=texts,
        chosen=chosen,
        quota=survey.settings.quota,
        total=len(people),
        done=int((people["step"] == "done").sum()),
    )


def _columns(settings: SurveySettings) -> list[tuple[str, str, str]]:
    """The quota table's columns: (scenario, context, heading) for every assigned cell; the
    heading names the scenario and each further axis's level ("Shop · formal")."""
    inst = settings.instrument
    found = []
    for scenario in settings.scenario_ids:
        for context in settings.contexts:
            names = [inst.level(settings.scenario_axis, scenario).name]
            names += [inst.level(a, lv).name for a, lv in context_pairs(context)]
            found.append((scenario, context, " · ".join(names)))
    return found


def _cells_by(settings: SurveySettings) -> str | None:
    """The axes a quota cell spans ("Region × Setting × Tone"); ``None`` for country ×
    scenario, which the page's own words name."""
    axes = (settings.asked_axis, *settings.assigned_axes)
    if axes == ("country", "scenario"):
        return None
    return " × ".join(settings.instrument.axis(a).name for a in axes)


def _csv(table: pd.DataFrame, name: str) -> Response:
    return Response(
        table.to_csv(index=False),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )
