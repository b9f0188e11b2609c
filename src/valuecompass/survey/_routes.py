"""The participant's path up to the Value Form: link, consent, demographics, vignette."""

from __future__ import annotations

import math
import secrets
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from valuecompass.store import survey as store
from valuecompass.store.survey import now
from valuecompass.survey._context import GET, Survey, redirect, require
from valuecompass.survey._form import OTHER_COUNTRY, draw_order, link_ids, read_demographics
from valuecompass.survey._security import SESSION_COOKIE, Refusal, sign
from valuecompass.survey._settings import SurveySettings

LINK_FIELDS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "scenario")
#: The link's fields the consent page carries on; ``lang`` is the language chosen.
CARRIED = (*LINK_FIELDS, "lang")


def path_routes(survey: Survey) -> APIRouter:
    router = APIRouter()
    settings = survey.settings

    def link(params: dict[str, str]) -> dict[str, str | None]:
        """Validated link ids and scenario; a malformed link is a 400 page."""
        ids, bad = link_ids(params)
        if bad:
            raise Refusal(400, "error_link_invalid", fields=", ".join(bad))
        if settings.study_id and ids["STUDY_ID"] not in (None, settings.study_id):
            raise Refusal(400, "error_link_other_study")
        scenario = params.get("scenario", "").strip() or None
        if scenario is not None and scenario not in settings.scenario_ids:
            raise Refusal(400, "error_link_scenario")
        if settings.require_prolific and not ids["PROLIFIC_PID"]:
            raise Refusal(400, "error_link_prolific")
        return {**ids, "scenario": scenario}

    def duplicate(request: Request) -> Response:
        return survey.render(request, "duplicate.html", 409)

    @router.api_route("/", methods=GET)
    async def landing(request: Request) -> Response:
        ids = link(dict(request.query_params))
        current = await survey.participant(request)
        if current is not None and ids["PROLIFIC_PID"] in (None, current.prolific_pid):
            return redirect(survey.where(current))
        pid = ids["PROLIFIC_PID"]
        if pid:
            taken: bool = await survey.db(store.prolific_taken, pid, settings.study_id)
            if taken:
                return duplicate(request)
        return _consent_page(survey, request, ids)

    @router.post("/consent")
    async def consent(request: Request) -> Response:
        form = await survey.read_form(request, before_session=True)
        ids = link({k: form.get(k, "") for k in LINK_FIELDS})
        current = await survey.participant(request)
        if current is not None and ids["PROLIFIC_PID"] in (None, current.prolific_pid):
            return redirect(survey.where(current))  # "Start" pressed twice: one participant
        lang = form.get("lang", "")
        lang = lang if lang in survey.texts else survey.language(request)
        if form.get("consent") != "yes":
            error = survey.texts[lang].t("error_consent")
            return _consent_page(survey, request, ids, lang, error)
        seed = secrets.randbits(31)
        checks = [c.id for c in settings.content.attention_checks]
        participant = await survey.db(
            store.create_participant,
            key=secrets.token_urlsafe(32),
            prolific_pid=ids["PROLIFIC_PID"],
            study_id=settings.study_id,  # the study as configured, whatever the link says
            session_id=ids["SESSION_ID"],
            link_scenario=ids["scenario"],
            seed=seed,
            item_order=draw_order(settings.instrument.item_ids, checks, seed),
            items_per_page=settings.items_per_page,
            language=lang,
        )
        if participant is None:
            return duplicate(request)
        response = redirect("/demographics")
        survey.set_cookie(response, SESSION_COOKIE, participant.key)
        return response

    @router.api_route("/demographics", methods=GET)
    async def demographics(request: Request) -> Response:
        participant = await require(survey, request, ("demographics",))
        return _demographics_page(survey, request, participant, {}, {})

    @router.post("/demographics")
    async def demographics_sent(request: Request) -> Response:
        form = await survey.read_form(request)
        participant = await require(survey, request, ("demographics",))
        answers, errors = read_demographics(form, settings, survey.words(participant).t)
        if answers is None:
            return _demographics_page(survey, request, participant, form, errors, 400)
        address = _count_place(survey, request)
        first_hold = min(settings.first_hold_minutes, settings.hold_minutes) * 60
        try:
            scenario = await survey.db(
                store.save_demographics,
                participant,
                country=answers.country,
                age_band=answers.age_band,
                gender=answers.gender,
                candidates=_candidates(settings, participant.link_scenario),
                quota=settings.quota,
                hold_seconds=settings.hold_minutes * 60,
                first_hold_seconds=first_hold,
                idle_seconds=settings.idle_minutes * 60,
                address=sign(survey.secret, f"address:{address}"),
                per_address=max(1, int(settings.quota * settings.address_share)),
            )
        except store.AddressFull:
            survey.limits.give_back(address)
            minutes = math.ceil(first_hold / 60)
            raise Refusal(
                429,
                "error_busy_start_one" if minutes <= 1 else "error_busy_start_other",
                headers={"retry-after": str(math.ceil(first_hold))},
                minutes=minutes,
            ) from None
        if scenario is None:
            survey.limits.give_back(address)  # turned away: no place was taken
        return redirect("/vignette" if scenario else "/full")

    @router.api_route("/full", methods=GET)
    async def full(request: Request) -> Response:
        participant = await require(survey, request, ("full",))
        lang = survey.words(participant).language
        return survey.render(request, "full.html", lang=lang, step=1)

    @router.api_route("/vignette", methods=GET)
    async def vignette(request: Request) -> Response:
        participant = await require(
            survey, request, ("vignette", "form", "choice", "review", "open")
        )
        lang = survey.words(participant).language
        scenario = survey.scenario(participant)
        context = survey.context(participant)
        return survey.render(
            request, "vignette.html", lang=lang, step=2, scenario=scenario, context=context
        )

    @router.post("/vignette")
    async def vignette_read(request: Request) -> Response:
        await survey.read_form(request)
        participant = await require(
            survey, request, ("vignette", "form", "choice", "review", "open")
        )
        if participant.step == "vignette":
            await survey.db(
                store.set_step,
                participant.id,
                "form",
                from_steps=("vignette",),
                form_started_at=now(),
            )
            return redirect("/page/1")
        return redirect(survey.where(participant))

    return router


def _candidates(settings: SurveySettings, link_scenario: str | None) -> list[tuple[str, str]]:
    """The (scenario, context) cells a participant may be placed in: every allowed scenario
    (or the one their link names) with every combination of the further axes' levels."""
    scenarios = [link_scenario] if link_scenario else settings.scenario_ids
    return [(s, c) for s in scenarios for c in settings.contexts]


def _consent_page(
    survey: Survey,
    request: Request,
    ids: dict[str, str | None],
    lang: str | None = None,
    error: str | None = None,
) -> Response:
    """The consent page in LANG, with links to the other languages the survey is offered in
    (each keeping the study link's ids)."""
    lang = lang or survey.language(request)
    kept = {k: v for k, v in ids.items() if v}
    choices = [
        (code, survey.texts[code].language_name, "/?" + urlencode({**kept, "lang": code}))
        for code in survey.languages
    ]
    extra = {} if error is None else {"error": error}
    return survey.render(
        request,
        "consent.html",
        400 if error else 200,
        lang=lang,
        link={**ids, "lang": lang},
        fields=CARRIED,
        languages=choices if len(choices) > 1 else [],
        step=0,
        **extra,
    )


def _demographics_page(
    survey: Survey,
    request: Request,
    participant: store.Participant,
    given: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    texts = survey.words(participant)
    return survey.render(
        request,
        "demographics.html",
        status,
        lang=texts.language,
        step=1,
        countries=texts.countries,
        age_bands=texts.age_bands,
        other=OTHER_COUNTRY,
        given=given,
        errors=errors,
    )


def _count_place(survey: Survey, request: Request) -> str:
    """Count a quota place for the request's address (returned); 429 past the limits."""
    address = request.client.host if request.client else ""
    wait = survey.limits.take(address)
    if wait is not None:
        minutes = math.ceil(wait / 60)
        raise Refusal(
            429,
            "error_busy_start_one" if minutes <= 1 else "error_busy_start_other",
            headers={"retry-after": str(math.ceil(wait))},
            minutes=minutes,
        )
    return address
