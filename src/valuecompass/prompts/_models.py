"""The prompt design as pydantic models: framings, styles, requirements, layouts, variants."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from valuecompass.errors import ValueCompassError


class UnknownVariantError(ValueCompassError, KeyError):
    """A prompt variant index the design does not have (``run --variants``)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


#: The prompt modes: every item in one prompt (``all``), or one item per prompt (``item``).
Mode = Literal["all", "item"]
MODES: tuple[Mode, ...] = ("all", "item")

#: ``all``'s old name, still read where a design (or a stored run) says ``form``.
OLD_ALL = "form"

#: A design's key for mode ``all``: ``form``, its old name, still loads.
_ALL_KEY = AliasChoices("all", OLD_ALL)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Style(_Strict):
    """A way of asking about an item: which of the instrument's wordings it shows, and so (by
    the instrument's ``roles``) the scale its options come from.

    The wording is, in order: ``wording`` when given; the style's own id when the instrument has
    a wording of that id; the one wording whose scale is ``scale`` (deprecated: designs written
    before instruments named their wordings); the instrument's only wording. Anything else is a
    :class:`PromptError` naming the style.
    """

    wording: str | None = Field(
        default=None, description="id of the instrument's wording this style asks"
    )
    scale: str | None = Field(
        default=None, description="deprecated: the scale of the wording (use wording)"
    )
    intro: str = Field(description="the question put before the values")
    item: str = Field(description="how one value is written; {name}, {definition}, ...")
    bullet: str = Field(default="- ", description="what starts each value's line in mode all")


class Requirements(_Strict):
    """The answer-format requirement, per mode, keyed by level (``form:`` is read as ``all:``,
    the mode's old name)."""

    all: dict[str, str] = Field(validation_alias=_ALL_KEY)
    item: dict[str, str]


class Layout(_Strict):
    """How the parts are put together into the user message, per mode (which parts come in
    which order: the values before the options or after them, for instance)."""

    all: str = Field(validation_alias=_ALL_KEY)
    item: str


#: The factors a variant sets, each a level of the design (``layout``: ``None`` is the design's
#: ``layout``, a name one of its ``layouts``).
FACTORS = ("framing", "style", "requirement", "order", "layout")
DEFAULT_LAYOUT = "default"


class Variant(_Strict):
    """One prompt variant: a level of each factor."""

    index: int = Field(ge=0)
    framing: str
    style: str
    requirement: str
    order: Literal["forward", "reversed"] = Field(
        default="forward",
        description="forward, or reversed: the options and the values listed in reverse",
    )
    layout: str | None = Field(
        default=None, description="a name in the design's layouts; omitted: its layout"
    )

    def levels(self) -> dict[str, str]:
        """The variant's level of each factor of :data:`FACTORS`."""
        return {
            "framing": self.framing,
            "style": self.style,
            "requirement": self.requirement,
            "order": self.order,
            "layout": self.layout or DEFAULT_LAYOUT,
        }


class PromptSet(_Strict):
    """The whole prompt design; checked for consistency as it loads."""

    name: str
    version: str
    system: str = ""
    framings: dict[str, str]
    styles: dict[str, Style]
    requirements: Requirements
    layout: Layout | None = Field(
        default=None, description="the layout of variants that name none in layouts"
    )
    layouts: dict[str, Layout] = Field(
        default_factory=dict, description="named layouts, chosen by a variant's layout"
    )
    variants: list[Variant] = Field(min_length=1)

    @model_validator(mode="after")
    def _levels_exist(self) -> PromptSet:
        seen: set[int] = set()
        for v in self.variants:
            if v.index in seen:
                raise ValueError(f"variant index {v.index} is used twice")
            seen.add(v.index)
            _need(v.framing, self.framings, f"variant {v.index}: framing")
            _need(v.style, self.styles, f"variant {v.index}: style")
            if v.layout is not None:
                _need(v.layout, self.layouts, f"variant {v.index}: layout")
            elif self.layout is None:
                raise ValueError(
                    f"variant {v.index} names no layout and the design has no default layout"
                )
            for mode in MODES:
                levels = getattr(self.requirements, mode)
                _need(v.requirement, levels, f"variant {v.index}: requirements.{mode}")
        return self

    def layout_of(self, variant: Variant) -> Layout:
        """The layout VARIANT uses."""
        if variant.layout is not None:
            return self.layouts[variant.layout]
        assert self.layout is not None  # checked as the design loads
        return self.layout

    def levels(self) -> dict[int, dict[str, str]]:
        """Variant index → its level of each factor (see :meth:`Variant.levels`)."""
        return {v.index: v.levels() for v in self.variants}

    def variant(self, index: int) -> Variant:
        for v in self.variants:
            if v.index == index:
                return v
        valid = ", ".join(str(v.index) for v in self.variants)
        raise UnknownVariantError(f"no prompt variant {index} in the prompt design; valid: {valid}")


def _need(level: str, levels: Mapping[str, object], what: str) -> None:
    if level not in levels:
        raise ValueError(f"{what} {level!r} is not defined; defined: {', '.join(levels)}")
