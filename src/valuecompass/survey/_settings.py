"""The survey's settings and its words (content), both validated by pydantic.

The words participants read (consent, attention checks, open questions, age bands) are content:
a YAML file bundled with the package, replaceable by a study's own file. The settings say how the
survey runs: quotas, pages, Prolific's completion URL, the admin token, limits.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from valuecompass._yaml import read_file, read_mapping, validate
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument

_ID = r"^[a-z][a-z0-9_]*$"
DEFAULT_CONTENT = "content.yaml"
#: What can exclude a participant from analysis (see ``SurveySettings.exclude_for``).
EXCLUSIONS = ("attention", "country_other", "too_fast", "straightlined")


class SurveyConfigError(ValueCompassError, ValueError):
    """A survey content file or setting that cannot be used."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AttentionCheck(_Strict):
    """A statement placed among the values that asks for one particular answer."""

    id: str = Field(pattern=_ID, description="Item id; must differ from every value id.")
    statement: str = Field(min_length=1)
    expect: str = Field(min_length=1, description="The option code the statement asks for.")


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
        data = {**load_content().model_dump(mode="json"), **data}
    return validate(SurveyContent, data, node, origin, SurveyConfigError)


class SurveySettings(_Strict):
    """How a survey server runs. Build it in code or from the CLI; the app reads only this."""

    instrument: Instrument
    content: SurveyContent
    scenarios: tuple[str, ...] = Field(
        default=(), description="Scenario ids to assign; every scenario when empty."
    )
    study_id: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_-]{0,64}$",
        description="The study this server runs (Prolific's STUDY_ID). A Prolific id takes part "
        "once per study; a link naming another STUDY_ID is refused. '' for one unnamed study.",
    )
    quota: int = Field(default=4, ge=1, le=1_000_000, description="Per country per scenario.")
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
        known = {s.id for s in self.instrument.scenarios}
        unknown = [s for s in self.scenarios if s not in known]
        if unknown:
            raise ValueError(f"unknown scenario(s) {unknown}; known: {sorted(known)}")
        codes = set(self.instrument.scales.human.positions)
        values = set(self.instrument.value_ids)
        for check in self.content.attention_checks:
            if check.expect not in codes:
                raise ValueError(f"attention check {check.id}: {check.expect!r} is not an option")
            if check.id in values:
                raise ValueError(f"attention check id {check.id!r} is also a value id")
        if self.admin_token is not None and (
            not self.admin_token.strip() or self.admin_token != self.admin_token.strip()
        ):
            raise ValueError("admin_token must not be blank or start or end with white space")
        if self.completion_url is not None:
            parts = urlsplit(self.completion_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("completion_url must be an http(s) URL")
        return self

    @property
    def scenario_ids(self) -> tuple[str, ...]:
        return self.scenarios or tuple(s.id for s in self.instrument.scenarios)

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
