"""The survey's settings and its words (content), both validated by pydantic.

The words participants read (consent, attention checks, open questions, age bands) are content:
a YAML file bundled with the package, replaceable by a study's own file. The settings say how the
survey runs: quotas, pages, Prolific's completion URL, the admin token, limits.
"""

from __future__ import annotations

import itertools
from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from valuecompass.common import read_file, read_mapping, validate
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, RatingScale
from valuecompass.store.survey import context_key, default_axes
from valuecompass.survey._security import MAKE_TOKEN, MIN_TOKEN_BITS, token_bits

_ID = r"^[a-z][a-z0-9_]*$"
DEFAULT_CONTENT = "content.yaml"
#: What can exclude a participant from analysis (see ``SurveySettings.exclude_for``).
EXCLUSIONS = ("attention", "country_other", "too_fast", "straightlined")


class SurveyConfigError(ValueCompassError, ValueError):
    """A survey content file or setting that cannot be used."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AttentionCheck(_Strict):
    """A statement placed among the items that asks for one particular answer.

    The answer is one end of the instrument's people scale (``end``), so the check fits any
    scale; ``{label}`` in the statement is that point's label in the participant's language.
    ``expect`` (a fixed option code) is the older way, kept for content files that use it.
    """

    id: str = Field(pattern=_ID, description="Item id; must differ from every item id.")
    statement: str = Field(min_length=1)
    end: Literal["agree", "opposite"] | None = Field(
        default=None,
        description="The scale end asked for: its agree ('like me') end or the opposite one.",
    )
    expect: str | None = Field(
        default=None, min_length=1, description="A fixed option code (instead of 'end')."
    )

    @model_validator(mode="after")
    def _one_answer(self) -> AttentionCheck:
        if (self.end is None) == (self.expect is None):
            raise ValueError(f"attention check {self.id}: give exactly one of 'end' or 'expect'")
        return self

    def expected(self, scale: RatingScale) -> str:
        """The option code this check asks for on SCALE."""
        if self.expect is not None:
            return self.expect
        first, last = scale.points[0].code, scale.points[-1].code
        agree = first if scale.agree == "first" else last
        return agree if self.end == "agree" else (last if agree == first else first)


class OpenQuestion(_Strict):
    id: str = Field(pattern=_ID)
    label: str = Field(min_length=1)
    hint: str = ""
    required: Literal["always", "if_irrelevant", "never"] = "always"
    max_chars: int = Field(default=4000, ge=1, le=20000)


class SurveyContent(_Strict):
    """Everything participants read that is not the instrument itself."""

    title: str = Field(min_length=1)
    consent: tuple[str, ...] = Field(min_length=1, description="Paragraphs of the consent page.")
    consent_label: str = Field(min_length=1)
    age_bands: tuple[str, ...] = Field(min_length=1)
    gender_hint: str = ""
    task: str = Field(min_length=1, description="What to do, shown with the vignette.")
    attention_checks: tuple[AttentionCheck, ...] = ()
    open_questions: tuple[OpenQuestion, ...] = ()
    thanks: str = Field(min_length=1)
    ui: dict[str, str] = Field(
        default_factory=dict,
        description="The pages' fixed words (buttons, headings), by key; a study's file "
        "gives only the keys it changes.",
    )


def load_content(path: str | Path | None = None) -> SurveyContent:
    """The bundled survey content, or a study's file (``base: default`` merges over it)."""
    if path is None:
        text = resources.files("valuecompass.survey").joinpath("data", DEFAULT_CONTENT)
        return _parse(text.read_text(encoding="utf-8"), f"<bundled {DEFAULT_CONTENT}>")
    return _parse(read_file(path, "survey content", SurveyConfigError), str(path))


def _parse(text: str, origin: str) -> SurveyContent:
    data, node = read_mapping(text, origin, SurveyConfigError)
    base = data.pop("base", None)
    if base is not None:
        if base != "default":
            raise SurveyConfigError(f"{origin}: 'base' must be 'default', got {base!r}")
        bundled = load_content().model_dump(mode="json")
        data = {**bundled, **data, "ui": {**bundled["ui"], **data.get("ui", {})}}
    return validate(SurveyContent, data, node, origin, SurveyConfigError)


class SurveySettings(_Strict):
    """How a survey server runs. Build it in code or from the CLI; the app reads only this."""

    instrument: Instrument
    content: SurveyContent
    scenarios: tuple[str, ...] = Field(
        default=(), description="Levels of the scenario axis to assign; every one when empty."
    )
    levels: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Levels to assign, by assigned axis id (any axis but the asked one); an "
        "axis not named here assigns every level. For the scenario axis, 'scenarios' says the "
        "same.",
    )
    scenario_axis: str = Field(
        default="",
        description="The first assigned axis: its levels are the vignettes participants read "
        "(their text and illustration). '' for 'scenario' if the instrument has it, else its "
        "first context axis other than the asked one.",
    )
    asked_axis: str = Field(
        default="",
        validation_alias=AliasChoices("asked_axis", "country_axis"),
        description="The context axis participants are asked their level of (the country "
        "question); 'country_axis' is the older name. '' for 'country' if the instrument has "
        "it, else its first context axis.",
    )
    wording: str | None = Field(
        default=None,
        description="Which of the items' wordings the statements show; the first listed when "
        "unset.",
    )
    study_id: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_-]{0,64}$",
        description="The study this server runs (Prolific's STUDY_ID). A Prolific id takes part "
        "once per study; a link naming another STUDY_ID is refused. '' for one unnamed study.",
    )
    quota: int = Field(
        default=4,
        ge=1,
        le=1_000_000,
        description="Participants per full context cell: an asked level and one level of "
        "each assigned axis (per country per scenario for the Value Form).",
    )
    hold_minutes: float = Field(
        default=120,
        gt=0,
        description="A participant who has saved a Value Form page holds their quota place "
        "this long from when it was given, unless they finish.",
    )
    first_hold_minutes: float = Field(
        default=15,
        gt=0,
        description="Until they save the first Value Form page, a participant holds their "
        "place only this long (or hold_minutes, if shorter).",
    )
    idle_minutes: float = Field(
        default=30,
        gt=0,
        description="A participant who has saved a Value Form page keeps their place only while "
        "they save another at least this often (and never past hold_minutes).",
    )
    address_share: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="The share of any one cell's quota that participants from one network "
        "address may hold at once (at least one place); past it they are asked to come back "
        "later (429).",
    )
    holds_per_address: int = Field(
        default=10,
        ge=1,
        description="Quota places that participants from one network address may take per "
        "hour; more are asked to come back later (429).",
    )
    holds_per_minute: int = Field(
        default=60,
        ge=1,
        description="Quota places the whole study gives out per minute, whatever the address.",
    )
    db_wait_seconds: float = Field(
        default=2,
        gt=0,
        le=60,
        description="How long a request waits for a locked store before a 503 page.",
    )
    items_per_page: int = Field(default=15, ge=1, description="Value Form statements per page.")
    action_set: str | None = Field(
        default=None,
        min_length=1,
        description="An action set in the study's store: after the statements, participants "
        "choose between the two actions of each item of their context (a choice study).",
    )
    choice_items: int = Field(
        default=0,
        ge=0,
        description="Pairs of actions per participant: the first this many of the items they "
        "rated (in the order shown) whose pair the set holds; 0 for every one.",
    )
    choices_per_page: int = Field(default=8, ge=1, description="Pairs of actions per page.")
    study: Literal["", "stated", "choice", "review"] = Field(
        default="",
        description="What participants do after the statements: nothing more ('stated'), "
        "choose between actions ('choice') or judge actions ('review'); '' for 'choice' with "
        "an action set, else 'stated'.",
    )
    reviews_per_action: int = Field(
        default=3,
        ge=1,
        description="A review study: independent judgements each action of the set gets.",
    )
    actions_per_annotator: int = Field(
        default=12, ge=1, description="A review study: actions each annotator judges."
    )
    reviews_per_page: int = Field(
        default=4, ge=1, description="A review study: actions judged per page."
    )
    require_prolific: bool = Field(default=False, description="Refuse links without ids.")
    completion_url: str | None = Field(
        default=None,
        description="Where a finished participant goes, e.g. Prolific's "
        "'https://app.prolific.com/submissions/complete?cc={code}'; without '{code}' the code "
        "is appended as 'cc'.",
    )
    completion_code: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="One code for everyone."
    )
    redirect_on_complete: bool = Field(
        default=False, description="Send finished participants straight to completion_url."
    )
    admin_token: str | None = Field(
        default=None, min_length=16, description="Opens /admin; the admin page is off without."
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    min_form_seconds: float = Field(
        default=90, ge=0, description="Faster than this is flagged 'too_fast'."
    )
    straightline_share: float = Field(
        default=0.9, gt=0, le=1, description="Flag when one option covers this share of values."
    )
    exclude_for: tuple[Literal["attention", "country_other", "too_fast", "straightlined"], ...] = (
        Field(default=("attention", "country_other"), description="Flags that exclude.")
    )
    secure_cookies: bool = Field(default=False, description="Mark cookies Secure (behind HTTPS).")

    @model_validator(mode="after")
    def _consistent(self) -> SurveySettings:
        self._check_instrument()
        if self.study in ("choice", "review") and self.action_set is None:
            raise ValueError(f"a {self.study} study needs an action set (--actions SET)")
        if self.study == "stated" and self.action_set is not None:
            raise ValueError("a stated-values study takes no action set; leave out --actions")
        scale = self.instrument.people_scale
        codes = {*scale.codes, *scale.missing_codes}
        items = set(self.instrument.item_ids)
        for check in self.content.attention_checks:
            if check.expected(scale) not in codes:
                raise ValueError(
                    f"attention check {check.id}: {check.expected(scale)!r} is not an option"
                )
            if check.id in items:
                raise ValueError(f"attention check id {check.id!r} is also an item id")
        if self.admin_token is not None and (
            not self.admin_token.strip() or self.admin_token != self.admin_token.strip()
        ):
            raise ValueError("admin_token must not be blank or start or end with white space")
        if self.admin_token is not None and token_bits(self.admin_token) < MIN_TOKEN_BITS:
            raise ValueError(
                f"admin_token is too weak (about {token_bits(self.admin_token):.0f} bits in its "
                f"characters; at least {MIN_TOKEN_BITS}): make one with {MAKE_TOKEN}"
            )
        if self.completion_url is not None:
            parts = urlsplit(self.completion_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("completion_url must be an http(s) URL")
        return self

    @model_validator(mode="before")
    @classmethod
    def _default_axes(cls, data: object) -> object:
        """Fill '' axis names from the instrument (see the fields)."""
        if not isinstance(data, dict) or not isinstance(data.get("instrument"), Instrument):
            return data
        data = dict(data)
        key = "country_axis" if "country_axis" in data else "asked_axis"
        asked, scenario = default_axes(
            data["instrument"], str(data.get(key) or ""), str(data.get("scenario_axis") or "")
        )
        data[key], data["scenario_axis"] = asked, scenario
        return data

    def _check_instrument(self) -> None:
        inst = self.instrument
        axes = [a.id for a in inst.context_axes]
        if len(axes) < 2:
            raise ValueError(
                f"instrument {inst.id!r} has one context axis {axes}; the survey needs two: "
                "one to ask participants (the country question), one or more to assign"
            )
        if self.asked_axis not in axes:
            raise ValueError(
                f"instrument {inst.id!r} has no context axis {self.asked_axis!r} to ask; its "
                f"context axes: {axes}"
            )
        if self.scenario_axis not in axes or self.scenario_axis == self.asked_axis:
            raise ValueError(
                f"instrument {inst.id!r}: the scenario axis must be one of its context axes "
                f"{axes} other than the asked one ({self.asked_axis!r}), not "
                f"{self.scenario_axis!r}"
            )
        for axis_id, wanted in {self.scenario_axis: self.scenarios, **self.levels}.items():
            if axis_id not in self.assigned_axes:
                raise ValueError(
                    f"levels: {axis_id!r} is not an assigned axis; assigned: "
                    f"{list(self.assigned_axes)}"
                )
            known = inst.axis(axis_id).level_ids
            unknown = [s for s in wanted if s not in known]
            if unknown:
                raise ValueError(f"unknown {axis_id} level(s) {unknown}; known: {sorted(known)}")
        if self.wording is not None and self.wording not in inst.wording_ids:
            raise ValueError(
                f"instrument {inst.id!r} has no wording {self.wording!r}; its wordings: "
                f"{list(inst.wording_ids)}"
            )

    @property
    def kind(self) -> str:
        """The study served: 'stated', 'choice' or 'review' (see :attr:`study`)."""
        if self.study:
            return self.study
        return "choice" if self.action_set is not None else "stated"

    @property
    def country_axis(self) -> str:
        """The older name of :attr:`asked_axis`."""
        return self.asked_axis

    @property
    def assigned_axes(self) -> tuple[str, ...]:
        """The axes participants are assigned a level of: the scenario axis first, then the
        other context axes (not the asked one) in the instrument's order."""
        rest = [
            a.id
            for a in self.instrument.context_axes
            if a.id not in (self.asked_axis, self.scenario_axis)
        ]
        return (self.scenario_axis, *rest)

    def assigned_levels(self, axis_id: str) -> tuple[str, ...]:
        """The levels of assigned axis AXIS_ID that participants may be given."""
        chosen = self.scenarios if axis_id == self.scenario_axis else ()
        chosen = chosen or self.levels.get(axis_id, ())
        return chosen or tuple(self.instrument.axis(axis_id).level_ids)

    @property
    def scenario_ids(self) -> tuple[str, ...]:
        return self.assigned_levels(self.scenario_axis)

    @property
    def further_axes(self) -> tuple[str, ...]:
        """The assigned axes after the scenario axis (none for the Value Form)."""
        return self.assigned_axes[1:]

    @property
    def contexts(self) -> tuple[str, ...]:
        """Every combination of the further axes' levels as a context key
        (``axis=level;...``); ``('',)`` when there are no further axes."""
        combos = itertools.product(*(self.assigned_levels(a) for a in self.further_axes))
        return tuple(
            context_key(tuple(zip(self.further_axes, combo, strict=True))) for combo in combos
        )

    @property
    def country_ids(self) -> tuple[str, ...]:
        return tuple(level.id for level in self.instrument.axis(self.asked_axis).levels)

    @property
    def wording_id(self) -> str:
        """The wording the statements show."""
        return self.wording or self.instrument.wording_ids[0]

    def completion_link(self, code: str) -> str | None:
        """The completion URL carrying CODE, or ``None`` when none is configured."""
        if self.completion_url is None:
            return None
        if "{code}" in self.completion_url:
            return self.completion_url.replace("{code}", quote(code, safe=""))
        joiner = "&" if urlsplit(self.completion_url).query else "?"
        return f"{self.completion_url}{joiner}cc={quote(code, safe='')}"


def make_settings(**fields: object) -> SurveySettings:
    """:class:`SurveySettings` from keyword fields; bad values raise :class:`SurveyConfigError`
    naming each field."""
    try:
        return SurveySettings.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise SurveyConfigError(f"survey settings: {problems}") from exc
