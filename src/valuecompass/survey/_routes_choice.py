"""The choice pages of a choice study (``/choices``, ``/choice/N``): after the statements, the
participant picks one of the two actions of each pair dealt to them.

A page carries the digest of the texts it shows (``shown``). Its choices are stored only if the
action set, as the store holds it when they arrive, still reads so: else (the set was changed
while the survey ran) the answer is a 409 with the page as it reads now, nothing is stored, the
set is read again, and a pair it no longer holds whole is taken back from the participant
unless already chosen, so no one is left with a pair they cannot choose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from valuecompass.instrument import AxisLevel
from valuecompass.store import survey as store
from valuecompass.survey._choices import (
    Texts,
    first_open_page,
    page_digest,
    pages_of,
    read_pairs,
)
from valuecompass.survey._context import GET, Moved, Survey, redirect, require
from valuecompass.survey._form import Say
from valuecompass.survey._security import Refusal
from valuecompass.survey._study import record_actions

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
        held = survey.pairs.of(participant) if survey.pairs is not None else {}
        # a pair chosen already whose set no longer holds it is no longer shown
        dealt = [d for d in dealt if d.item in held or d.inclination is None]
        on_page = [d.item for d in dealt if d.page == page]
        if not on_page or page > first_open_page(dealt):  # not there yet
            raise Moved("/choices")
        words = survey.words(participant)
        picks, chosen, errors = read_choices(form, on_page, words.t)
        now = await now_shown(participant, dealt, page)
        if not _reads_as(now, dealt, page, form.get("shown", "")):
            return await changed(request, participant, page, on_page, now)
        if errors:
            return choice_page(request, participant, dealt, page, chosen, errors, 400)
        last = page == pages_of(dealt)
        saved: bool = await survey.db(store.save_choices, participant.id, page, picks, last=last)
        if not saved:  # an earlier page unanswered, or no longer at the choices
            now_at = await survey.participant(request)
            raise Moved("/choices" if now_at and now_at.step in CHOICE_STEPS else "/")
        return redirect("/open" if last else f"/choice/{page + 1}")

    async def now_shown(
        participant: store.Participant, dealt: list[store.Dealt], page: int
    ) -> dict[str, Texts]:
        """The page's pairs as the store holds them now (item → its two actions)."""
        if survey.pairs is None:
            return {}
        items = [d.item for d in dealt if d.page == page]
        found: dict[str, Texts] = await survey.db(survey.pairs.now_shown, participant, items)
        return found

    async def changed(
        request: Request,
        participant: store.Participant,
        page: int,
        items: list[str],
        now: Mapping[str, Texts],
    ) -> Response:
        """The answer to choices posted for texts the store no longer holds (or a page without
        its digest): where the set read at start differs from NOW for the page's ITEMS, read
        it again and record it; take back pairs it no longer holds whole (not chosen yet);
        then show PAGE (or, where it has no pair left, the first open one) as it reads now,
        with a 409 and a note. Nothing of the post is stored."""
        pairs = survey.pairs
        held = pairs.of(participant) if pairs is not None else {}
        if pairs is None or any(held.get(i) != now.get(i) for i in items):
            pairs = await survey.db(read_pairs, survey.settings)
            survey.pairs = pairs
            await survey.db(record_actions, survey.settings.study_id, pairs)
        dealt = await survey.db(store.choices_of, participant.id)
        held = pairs.of(participant)
        gone = [d.item for d in dealt if d.inclination is None and d.item not in held]
        if gone:
            await survey.db(store.withdraw_choices, participant.id, gone)
            dealt = await survey.db(store.choices_of, participant.id)
        dealt = [d for d in dealt if d.item in held or d.inclination is None]
        if not any(d.page == page for d in dealt) or page > first_open_page(dealt):
            page = first_open_page(dealt)
        chosen = {d.item: str(d.place) for d in dealt if d.place is not None}
        return choice_page(request, participant, dealt, page, chosen, {}, 409, notice=True)

    def choice_page(
        request: Request,
        participant: store.Participant,
        dealt: list[store.Dealt],
        page: int,
        chosen: Mapping[str, str],
        errors: Mapping[str, str],
        status: int = 200,
        *,
        notice: bool = False,
    ) -> Response:
        words = survey.words(participant)
        held = survey.pairs.of(participant) if survey.pairs is not None else {}
        views, shown = [], []
        for number, d in enumerate(dealt, 1):
            texts = held.get(d.item)
            if d.page != page or texts is None:
                continue
            name, definition, _ = words.statements.get(d.item, (d.item, None, ""))
            options = tuple((place, texts[inc]) for place, inc in zip(PLACES, d.order, strict=True))  # type: ignore[index]
            views.append(PairView(d.item, number, name, definition, options, chosen.get(d.item)))
            shown.append((d.item, options[0][1], options[1][1]))
        return survey.render(
            request,
            "choice.html",
            status,
            lang=words.language,
            step=3,
            page=page,
            pages=pages_of(dealt),
            pairs=views,
            shown=page_digest(shown),
            notice=notice,
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


def _reads_as(now: Mapping[str, Texts], dealt: list[store.Dealt], page: int, given: str) -> bool:
    """Whether PAGE's pairs, as the store holds them NOW, read as the page that carried the
    digest GIVEN showed them."""
    on_page = [d for d in dealt if d.page == page]
    if not given or any(d.item not in now for d in on_page):
        return False
    shown = [(d.item, now[d.item][d.order[0]], now[d.item][d.order[1]]) for d in on_page]  # type: ignore[index]
    return page_digest(shown) == given


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
