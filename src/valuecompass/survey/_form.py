"""The survey's rules as pure functions: statement order, pages, validation, quality flags."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from valuecompass.store.survey import QualityFlags
from valuecompass.survey._settings import OpenQuestion, SurveySettings

OTHER_COUNTRY = "other"
_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: A Prolific participant id: 24 hexadecimal digits (Prolific writes them in lower case).
_PROLIFIC_PID = re.compile(r"^[0-9a-fA-F]{24}$")
GENDER_MAX = 60


#: The ui string KEY in the participant's language, with its placeholders filled.
Say = Callable[..., str]


class BadRequest(Exception):
    """A request no honest form produces (a field twice, an unknown statement): 400."""


def draw_order(value_ids: Sequence[str], check_ids: Sequence[str], seed: int) -> list[str]:
    """The values shuffled by SEED, with the checks spread among them.

    With k checks the shuffled list is cut into k equal stretches and check i goes to a random
    place inside stretch i, never first: so two checks land one in each half of the form.
    """
    rng = random.Random(seed)
    order = list(value_ids)
    rng.shuffle(order)
    n, k = len(order), len(check_ids)
    places = [rng.randint(max(1, i * n // k), max(1, (i + 1) * n // k)) for i in range(k)]
    for place, check in sorted(zip(places, check_ids, strict=True), reverse=True):
        order.insert(place, check)
    return order


def split_pages(order: Sequence[str], per_page: int) -> list[list[str]]:
    """ORDER cut into pages of at most PER_PAGE, as even as possible (58 by 15: 15 15 14 14)."""
    count = max(1, -(-len(order) // per_page))
    size, extra = divmod(len(order), count)
    pages, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        pages.append(list(order[start:end]))
        start = end
    return pages


def read_ratings(
    form: Mapping[str, str], items: Sequence[str], codes: Sequence[str], say: Say
) -> tuple[list[tuple[str, str]], dict[str, str], dict[str, str]]:
    """The page's (item, code) answers, what was chosen, and an error message per bad item.

    A rating for a statement that is not on the page is a :class:`BadRequest`.
    """
    wanted = set(items)
    stray = [k for k in form if k.startswith("r_") and k[2:] not in wanted]
    if stray:
        raise BadRequest("the form carried answers for statements that are not on this page")
    valid = set(codes)
    answers, chosen, errors = [], {}, {}
    for item in items:
        code = form.get("r_" + item, "")
        if not code:
            errors[item] = say("error_choose_one")
        elif code not in valid:
            errors[item] = say("error_not_an_option")
        else:
            answers.append((item, code))
            chosen[item] = code
    return answers, chosen, errors


@dataclass(frozen=True)
class Demographics:
    country: str
    age_band: str
    gender: str | None


def read_demographics(
    form: Mapping[str, str], settings: SurveySettings, say: Say
) -> tuple[Demographics | None, dict[str, str]]:
    """The demographics page's answers, or an error message per field."""
    errors: dict[str, str] = {}
    countries = {*settings.country_ids, OTHER_COUNTRY}
    country = form.get("country", "")
    if country not in countries:
        errors["country"] = say("error_country", other=say("country_other"))
    age = form.get("age_band", "")
    if age not in settings.content.age_bands:
        errors["age_band"] = say("error_age")
    gender = " ".join(form.get("gender", "").split())
    if len(gender) > GENDER_MAX:
        errors["gender"] = say("error_too_long", max=GENDER_MAX)
    if errors:
        return None, errors
    return Demographics(country, age, gender or None), {}


def read_open(
    form: Mapping[str, str], questions: Sequence[OpenQuestion], any_irrelevant: bool, say: Say
) -> tuple[dict[str, str], dict[str, str]]:
    """The open answers as typed (trimmed), and an error message per question."""
    texts, errors = {}, {}
    for q in questions:
        text = form.get("q_" + q.id, "").strip()
        needed = q.required == "always" or (q.required == "if_irrelevant" and any_irrelevant)
        if needed and not text:
            errors[q.id] = say("error_answer_question")
        elif len(text) > q.max_chars:
            errors[q.id] = say("error_too_long", max=q.max_chars)
        texts[q.id] = text
    return texts, errors


def link_ids(params: Mapping[str, str]) -> tuple[dict[str, str | None], list[str]]:
    """Prolific's PROLIFIC_PID, STUDY_ID and SESSION_ID from a link, and what was malformed.

    A PROLIFIC_PID is 24 hexadecimal digits, kept in lower case, so ``AAAA…`` and ``aaaa…`` are
    one participant."""
    found: dict[str, str | None] = {}
    bad = []
    for name in ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"):
        text = params.get(name, "").strip()
        pattern = _PROLIFIC_PID if name == "PROLIFIC_PID" else _LINK_ID
        if text and not pattern.match(text):
            bad.append(name)
        found[name] = text or None
    if found["PROLIFIC_PID"]:  # one participant however a link spells the id
        found["PROLIFIC_PID"] = found["PROLIFIC_PID"].lower()
    return found, bad


def quality(
    codes: Mapping[str, str],
    settings: SurveySettings,
    country: str | None,
    form_seconds: float | None,
) -> QualityFlags:
    """The checks on a finished form.

    * attention: each check answered with anything but the option it asks for counts once;
    * straight-lining: one option chosen for at least ``straightline_share`` of the items
      (an unanswered value counts as no option);
    * too fast: under ``min_form_seconds`` from the form's first page to its last save.
    Flags named in ``exclude_for`` (plus a country outside the instrument's) exclude.
    """
    scale = settings.instrument.people_scale
    checks = settings.content.attention_checks
    failed = sum(codes.get(c.id) != c.expected(scale) for c in checks)
    values = settings.instrument.item_ids
    counts = Counter(codes[v] for v in values if v in codes)
    top = counts.most_common(1)[0][1] if counts else 0
    straight = bool(values) and top / len(values) >= settings.straightline_share
    fast = form_seconds is not None and form_seconds < settings.min_form_seconds
    raised = {
        "attention": failed > 0,
        "country_other": country == OTHER_COUNTRY,
        "too_fast": fast,
        "straightlined": straight,
    }
    exclusion = tuple(flag for flag in settings.exclude_for if raised[flag])
    return QualityFlags(form_seconds, failed, straight, fast, exclusion)
