"""The review pages of a review study (``/reviews``, ``/review/N``): after the statements, the
annotator judges each action dealt to them on the four criteria, with an optional comment.

A saved page is final: it is not shown again, and sending it again is refused (409) with
nothing changed. A form that names an action not dealt to this page is refused (403), one of
another shape (400); the error page leads back to where the annotator is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from valuecompass.instrument import AxisLevel, translate
from valuecompass.store import survey as store
from valuecompass.store.reviews import CRITERIA
from valuecompass.survey._context import GET, Moved, Survey, redirect, require
from valuecompass.survey._form import Say
from valuecompass.survey._review import marked
from valuecompass.survey._security import Refusal

REVIEW_STEPS = ("review", "open")
#: A POST may come after the page moved the annotator on (sent twice): it gets its 409.
POST_STEPS = ("review", "open", "done")
ANSWERS = ("yes", "no")
COMMENT_MAX = 2000
_FIELD = re.compile(r"^(intended|harmless|sufficient|plausible|comment)_([0-9]{1,12})$")


@dataclass(frozen=True)
class ActionView:
    """One action as a review page shows it."""

    id: int
    number: int
    name: str | None
    definition: str | None
    context: list[tuple[str, AxisLevel]]
    text: Markup
    questions: tuple[tuple[str, str], ...]  # (criterion, question), in the authors' order
    given: Mapping[str, str]


def review_routes(survey: Survey) -> APIRouter:
    router = APIRouter()
    settings = survey.settings
    axes = {
        lang: {a.id: a for a in translate(settings.instrument, lang).context_axes}
        if lang != settings.instrument.language
        else {a.id: a for a in settings.instrument.context_axes}
        for lang in survey.languages
    }

    async def held_of(participant: store.Participant) -> list[store.Assigned]:
        """The annotator's actions, dealt now if they have just reached the reviews."""
        if participant.step == "review" and survey.reviews is not None:
            deal = survey.reviews.deal(participant)
            return await survey.db(store.deal_reviews, participant.id, deal)
        return await survey.db(store.reviews_of, participant.id)

    @router.api_route("/reviews", methods=GET)
    async def start(request: Request) -> Response:
        participant = await require(survey, request, REVIEW_STEPS)
        held = await held_of(participant)
        open_pages = [a.page for a in held if not a.reviewed]
        if not open_pages:  # nothing (left) to judge: on to the open questions
            if participant.step == "review":
                await survey.db(store.set_step, participant.id, "open", from_steps=("review",))
            return redirect("/open")
        return redirect(f"/review/{min(open_pages)}")

    @router.api_route("/review/{page}", methods=GET)
    async def show(request: Request, page: int) -> Response:
        participant = await require(survey, request, ("review",))
        held = await held_of(participant)
        open_pages = [a.page for a in held if not a.reviewed]
        if not open_pages or page != min(open_pages):
            raise Moved("/reviews")
        return review_page(request, participant, held, page, {}, {})

    @router.post("/review/{page}")
    async def save(request: Request, page: int) -> Response:
        form = await survey.read_form(request)
        participant = await require(survey, request, POST_STEPS)
        held = await survey.db(store.reviews_of, participant.id)
        on_page = [a for a in held if a.page == page]
        if on_page and all(a.reviewed for a in on_page):
            raise Refusal(409, "error_review_twice")
        if participant.step != "review":
            raise Moved(survey.where(participant))
        words = survey.words(participant)
        judged, given, errors = read_reviews(form, [a.action_id for a in on_page], words.t)
        if not on_page:
            raise Moved("/reviews")
        if errors:
            return review_page(request, participant, held, page, given, errors, 400)
        detail = {"study": settings.study_id, "set": survey.reviews.found.name}  # type: ignore[union-attr]
        last = page == max(a.page for a in held)
        saved = await survey.db(
            store.save_reviews,
            participant.id,
            page,
            judged,
            set_id=survey.reviews.found.id,  # type: ignore[union-attr]
            detail=detail,
            last=last,
        )
        if saved == "twice":
            raise Refusal(409, "error_review_twice")
        if saved == "not_assigned":
            raise Refusal(403, "error_review_not_assigned")
        if saved != "saved":  # an earlier page open, or no longer at the reviews
            now_at = await survey.participant(request)
            raise Moved("/reviews" if now_at and now_at.step in REVIEW_STEPS else "/")
        return redirect("/open" if last else f"/review/{page + 1}")

    def review_page(
        request: Request,
        participant: store.Participant,
        held: list[store.Assigned],
        page: int,
        given: Mapping[str, str],
        errors: Mapping[str, str],
        status: int = 200,
    ) -> Response:
        words = survey.words(participant)
        views = []
        for a in held:
            if a.page != page:
                continue
            name, definition, _ = words.statements.get(a.item, (a.item, None, ""))
            question = "review_intended_" + ("opposes" if a.inclination == "opposes" else
                                             "expresses")  # fmt: skip
            keys = {"intended": question, **{c: f"review_{c}" for c in CRITERIA[1:]}}
            questions = tuple((c, words.t(keys[c], item=name or a.item)) for c in CRITERIA)
            views.append(ActionView(a.action_id, a.seq, name, definition,
                                    context_of(words.language, a), marked(a.text, a.spans),
                                    questions, given))  # fmt: skip
        pages = max(a.page for a in held)
        return survey.render(
            request,
            "review.html",
            status,
            lang=words.language,
            step=3,
            page=page,
            pages=pages,
            actions=views,
            given=given,
            errors=errors,
        )

    def context_of(language: str, action: store.Assigned) -> list[tuple[str, AxisLevel]]:
        """The action's context: each axis of the set (but the language) and its level."""
        found = survey.reviews.found if survey.reviews is not None else None
        if found is None:
            return []
        rest = [part.partition("=")[2] for part in action.context.split(";") if part]
        levels = [action.country, action.scenario, *rest]
        known = axes[language]
        out = []
        for i, axis_id in enumerate(found.axes):
            axis = known.get(axis_id)
            if axis is None or i == survey.reviews.language_at or i >= len(levels):  # type: ignore[union-attr]
                continue
            if levels[i] in axis.level_ids:
                out.append((axis.name, axis.level(levels[i])))
        return out

    return router


def read_reviews(
    form: Mapping[str, str], ids: list[int], say: Say
) -> tuple[dict[int, dict[str, Any]], dict[str, str], dict[str, str]]:
    """The page's judgements (action id → criteria and comment), what was given (field →
    value, to show again) and an error message per question left unanswered. A field of
    another shape, or an answer other than yes or no, is a 400; a field naming an action not
    dealt to this page a 403: no honest page sends either."""
    wanted = set(ids)
    for key, value in form.items():
        if key == "csrf":
            continue
        found = _FIELD.match(key)
        if found is None or (found.group(1) != "comment" and value not in ANSWERS):
            raise Refusal(400, "error_review_tampered")
        if int(found.group(2)) not in wanted:
            raise Refusal(403, "error_review_not_assigned")
    judged: dict[int, dict[str, Any]] = {}
    given: dict[str, str] = {}
    errors: dict[str, str] = {}
    for action_id in ids:
        marks: dict[str, Any] = {}
        for criterion in CRITERIA:
            key = f"{criterion}_{action_id}"
            value = form.get(key, "")
            if not value:
                errors[key] = say("error_review_answer")
                continue
            given[key] = value
            marks[criterion] = value == "yes"
        comment = form.get(f"comment_{action_id}", "").strip()
        given[f"comment_{action_id}"] = comment
        if len(comment) > COMMENT_MAX:
            errors[f"comment_{action_id}"] = say("error_too_long", max=COMMENT_MAX)
        marks["comment"] = comment or None
        judged[action_id] = marks
    return judged, given, errors
