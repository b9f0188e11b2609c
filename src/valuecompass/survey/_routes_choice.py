"""The choice pages of a choice study (``/choices``, ``/choice/N``): after the statements, the
participant picks one of the two actions of each pair dealt to them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from valuecompass.instrument import AxisLevel
from valuecompass.store import survey as store
from valuecompass.survey._choices import first_open_page, pages_of
from valuecompass.survey._context import GET, Moved, Survey, redirect, require
from valuecompass.survey._form import Say
from valuecompass.survey._security import Refusal

CHOICE_STEPS = ("choice", "open")
PLACES = ("1", "2")


@dataclass(frozen=True)
class PairView:
    """One pair as a page shows it: the item, and its two actions in the order dealt."""

    id: str
    number: int
    name: str | None
    definition: str | None
    options: tuple[tuple[str, str], ...]  # (place, action text), in the order shown
    chosen: str | None


def choice_routes(survey: Survey) -> APIRouter:
    router = APIRouter()

    async def dealt_of(participant: store.Participant) -> list[store.Dealt]:
        """The participant's pairs, dealt now if they have just reached the choices."""
        if participant.step == "choice" and survey.pairs is not None:
            slot = await survey.db(store.slot_of, participant.id)
            pairs = survey.pairs.deal(participant, slot)
            return await survey.db(store.deal_choices, participant.id, pairs)
        return await survey.db(store.choices_of, participant.id)

    @router.api_route("/choices", methods=GET)
    async def start(request: Request) -> Response:
        participant = await require(survey, request, CHOICE_STEPS)
        dealt = await dealt_of(participant)
        page = first_open_page(dealt)
        if page > pages_of(dealt):  # nothing (left) to choose: on to the open questions
            if participant.step == "choice":
                await survey.db(store.set_step, participant.id, "open", from_steps=("choice",))
            return redirect("/open")
        return redirect(f"/choice/{page}")

    @router.api_route("/choice/{page}", methods=GET)
    async def show(request: Request, page: int) -> Response:
        participant = await require(survey, request, CHOICE_STEPS)
        dealt = await dealt_of(participant)
        if not 1 <= page <= min(first_open_page(dealt), pages_of(dealt)):
            raise Moved("/choices")
        chosen = {d.item: str(d.place) for d in dealt if d.place is not None}
        return choice_page(request, participant, dealt, page, chosen, {})

    @router.post("/choice/{page}")
    async def save(request: Request, page: int) -> Response:
        form = await survey.read_form(request)
        participant = await require(survey, request, CHOICE_STEPS)
        dealt = await survey.db(store.choices_of, participant.id)
        on_page = [d.item for d in dealt if d.page == page]
        if not on_page:
            raise Moved("/choices")
        words = survey.words(participant)
        picks, chosen, errors = read_choices(form, on_page, words.t)
        if errors:
            return choice_page(request, participant, dealt, page, chosen, errors, 400)
        last = page == pages_of(dealt)
        saved: bool = await survey.db(store.save_choices, participant.id, page, picks, last=last)
        if not saved:  # an earlier page unanswered, or no longer at the choices
            now_at = await survey.participant(request)
            raise Moved("/choices" if now_at and now_at.step in CHOICE_STEPS else "/")
        return redirect("/open" if last else f"/choice/{page + 1}")

    def choice_page(
        request: Request,
        participant: store.Participant,
        dealt: list[store.Dealt],
        page: int,
        chosen: Mapping[str, str],
        errors: Mapping[str, str],
        status: int = 200,
    ) -> Response:
        words = survey.words(participant)
        held = survey.pairs.of(participant) if survey.pairs is not None else {}
        views = []
        for number, d in enumerate(dealt, 1):
            texts = held.get(d.item)
            if d.page != page or texts is None:
                continue
            name, definition, _ = words.statements.get(d.item, (d.item, None, ""))
            options = tuple((place, texts[inc]) for place, inc in zip(PLACES, d.order, strict=True))  # type: ignore[index]
            views.append(PairView(d.item, number, name, definition, options, chosen.get(d.item)))
        return survey.render(
            request,
            "choice.html",
            status,
            lang=words.language,
            step=3,
            page=page,
            pages=pages_of(dealt),
            pairs=views,
            chosen=chosen,
            errors=errors,
            scenario=survey.scenario(participant),
            context=_asked(survey, participant) + survey.context(participant),
        )

    return router


def _asked(survey: Survey, participant: store.Participant) -> list[tuple[str, AxisLevel]]:
    """The participant's level of the asked axis (their country), with the axis's name."""
    words = survey.words(participant)
    asked = survey.settings.asked_axis
    for level in words.countries:
        if level.id == participant.country:
            name = survey.settings.instrument.axis(asked).name
            return [(words.ui.get("column_country", name), level)]
    return []


def read_choices(
    form: Mapping[str, str], items: list[str], say: Say
) -> tuple[list[tuple[str, int]], dict[str, str], dict[str, str]]:
    """The page's (item, place) picks, what was chosen, and an error message per pair left
    unanswered. A choice for a pair not on the page, or a place other than 1 or 2, is a 400:
    no honest page sends one."""
    wanted = set(items)
    if any(k.startswith("c_") and k[2:] not in wanted for k in form):
        raise Refusal(400, "error_choice_not_saved")
    picks, chosen, errors = [], {}, {}
    for item in items:
        place = form.get("c_" + item, "")
        if not place:
            errors[item] = say("error_choose_action")
        elif place not in PLACES:
            raise Refusal(400, "error_choice_not_saved")
        else:
            picks.append((item, int(place)))
            chosen[item] = place
    return picks, chosen, errors
