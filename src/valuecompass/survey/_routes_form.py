"""The statement pages (``/page/N``), the open questions and the completion page."""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from valuecompass.store import survey as store
from valuecompass.survey._context import GET, Moved, Survey, redirect, require
from valuecompass.survey._form import BadRequest, quality, read_open, read_ratings
from valuecompass.survey._security import Refusal
from valuecompass.survey._settings import SurveySettings

FORM_STEPS = ("form", "choice", "review", "open")


def form_routes(survey: Survey) -> APIRouter:
    router = APIRouter()
    settings = survey.settings
    scale = settings.instrument.people_scale
    codes = [*scale.codes, *scale.missing_codes]

    async def on_page(request: Request, page: int) -> store.Participant:
        """The participant, who may see PAGE: one already saved, or the next one."""
        participant = await require(survey, request, FORM_STEPS)
        if not 1 <= page <= min(participant.form_page + 1, len(survey.pages(participant))):
            raise Moved(survey.where(participant))
        return participant

    def form_page(
        request: Request,
        participant: store.Participant,
        page: int,
        chosen: dict[str, str],
        errors: dict[str, str],
        status: int = 200,
    ) -> Response:
        return survey.render(
            request,
            "form.html",
            status,
            lang=survey.words(participant).language,
            step=3,
            page=page,
            pages=len(survey.pages(participant)),
            items=survey.items(participant, page),
            chosen=chosen,
            errors=errors,
            scenario=survey.scenario(participant),
            context=survey.context(participant),
        )

    @router.api_route("/form/{page}", methods=[*GET, "POST"])
    async def moved(page: int) -> Response:
        """The pages' old address (before "form" was kept for the instrument): 308 keeps a
        POST a POST, so a page open in a browser from before still saves."""
        return RedirectResponse(f"/page/{page}", status_code=308)

    @router.api_route("/page/{page}", methods=GET)
    async def show(request: Request, page: int) -> Response:
        participant = await on_page(request, page)
        saved = await survey.db(store.answers_of, participant.id)
        return form_page(request, participant, page, saved, {})

    @router.post("/page/{page}")
    async def save(request: Request, page: int) -> Response:
        form = await survey.read_form(request)
        who = await survey.identity(request)
        if who is None:
            raise Moved("/")
        if not 1 <= page <= len(who.pages):
            await on_page(request, page)  # moves the participant to their page
        try:
            say = survey.texts[who.language].t
            answers, chosen, errors = read_ratings(form, who.pages[page - 1], codes, say)
        except BadRequest as exc:
            await on_page(request, page)  # a participant elsewhere is sent there instead
            raise Refusal(400, "error_page_not_saved") from exc
        if errors:
            participant = await on_page(request, page)
            return form_page(request, participant, page, chosen, errors, 400)
        last = page == len(who.pages)
        choices = last and await _has_pairs(request)
        reviews = last and survey.reviews is not None
        saved: bool = await survey.db(
            store.save_page,
            who.id,
            page,
            answers,
            last=last,
            choices_next=choices,
            reviews_next=reviews,
        )
        if not saved:  # not on this page (finished already, or skipping ahead)
            now_at = await survey.participant(request)
            raise Moved(survey.where(now_at) if now_at else "/")
        after = "/choices" if choices else ("/reviews" if reviews else "/open")
        return redirect(after if last else f"/page/{page + 1}")

    async def _has_pairs(request: Request) -> bool:
        """Whether the study has pairs of actions for the request's participant's context."""
        if survey.pairs is None:
            return False
        participant = await survey.participant(request)
        return participant is not None and bool(survey.pairs.of(participant))

    @router.api_route("/open", methods=GET)
    async def questions(request: Request) -> Response:
        participant = await require(survey, request, ("open",))
        saved = await survey.db(store.answers_of, participant.id)
        back = await back_of(participant)
        return open_page(request, participant, _no_position(settings, saved), {}, {}, back)

    async def back_of(participant: store.Participant) -> str:
        """Where the open questions' Back goes: the last choice page, else the last page."""
        if survey.pairs is not None:
            dealt = await survey.db(store.choices_of, participant.id)
            if dealt:
                return f"/choice/{max(d.page for d in dealt)}"
        return f"/page/{len(survey.pages(participant))}"

    def open_page(
        request: Request,
        participant: store.Participant,
        any_irrelevant: bool,
        texts: dict[str, str],
        errors: dict[str, str],
        back: str,
        status: int = 200,
    ) -> Response:
        return survey.render(
            request,
            "open.html",
            status,
            lang=survey.words(participant).language,
            step=4,
            questions=survey.words(participant).content.open_questions,
            any_irrelevant=any_irrelevant,
            texts=texts,
            errors=errors,
            scenario=survey.scenario(participant),
            context=survey.context(participant),
            back=back,
        )

    @router.post("/open")
    async def finish(request: Request) -> Response:
        form = await survey.read_form(request)
        participant = await require(survey, request, ("open",))
        saved = await survey.db(store.answers_of, participant.id)
        any_irrelevant = _no_position(settings, saved)
        words = survey.words(participant)
        questions = words.content.open_questions
        texts, errors = read_open(form, questions, any_irrelevant, words.t)
        if errors:
            back = await back_of(participant)
            return open_page(request, participant, any_irrelevant, texts, errors, back, 400)
        seconds = participant.form_seconds
        flags = quality(saved, settings, participant.country, seconds)
        code = settings.completion_code or "VC" + secrets.token_hex(5).upper()
        await survey.db(store.complete, participant, texts, flags, code)
        target = settings.completion_link(code) if settings.redirect_on_complete else None
        return redirect(target or "/done")

    @router.api_route("/done", methods=GET)
    async def done(request: Request) -> Response:
        participant = await require(survey, request, ("done",))
        code = participant.completion_code or ""
        link = settings.completion_link(code)
        lang = survey.words(participant).language
        return survey.render(request, "done.html", lang=lang, step=5, code=code, link=link)

    return router


def _no_position(settings: SurveySettings, saved: dict[str, str]) -> bool:
    """Whether any item was answered with a missing code of the scale ("irrelevant")."""
    missing = set(settings.instrument.people_scale.missing_codes)
    items = set(settings.instrument.item_ids)
    return any(code in missing for item, code in saved.items() if item in items)
