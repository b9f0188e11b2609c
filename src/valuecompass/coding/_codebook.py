"""A codebook as data: themes with descriptions and examples, and the prompt for a model coder.

The bundled codebook holds the themes of the paper's qualitative analysis; a user's YAML file
in the same shape replaces it. Malformed files are refused with the field and line.
"""

from __future__ import annotations

import re
import string
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from valuecompass.common import read_file, read_mapping, validate
from valuecompass.errors import ValueCompassError

DEFAULT_FILE = "codebook.yaml"
#: Placeholders the instructions may use; {answer} and {themes} are required. ``{topic}`` is a
#: deprecated alias of ``{scenario}``.
FIELDS = ("themes", "question", "answer", "scenario", "topic")


class CodingError(ValueCompassError, ValueError):
    """A codebook, answer file or code file that cannot be used; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Theme(_Strict):
    """One theme of the codebook."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="stable id, e.g. fairness_bias")
    name: str = Field(min_length=1, description="display name, e.g. Fairness and bias")
    description: str = Field(min_length=1, description="what an answer must express")
    examples: tuple[str, ...] = Field(default=(), description="short answers it covers")


class Codebook(_Strict):
    """Themes and the instructions a model coder is given."""

    name: str = Field(min_length=1)
    version: str = "1"
    instructions: str = Field(min_length=1, description="prompt template; see FIELDS")
    themes: tuple[Theme, ...] = Field(min_length=1)

    @field_validator("themes")
    @classmethod
    def _unique(cls, themes: tuple[Theme, ...]) -> tuple[Theme, ...]:
        ids = [t.id for t in themes]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"theme ids repeat: {', '.join(twice)}")
        return themes

    @model_validator(mode="after")
    def _placeholders(self) -> Codebook:
        used = {f for _, f, _, _ in string.Formatter().parse(self.instructions) if f}
        unknown = sorted(used - set(FIELDS))
        if unknown:
            raise ValueError(
                f"instructions use unknown placeholder(s) {unknown}; known: {list(FIELDS)}"
            )
        absent = [f for f in ("answer", "themes") if f not in used]
        if absent:
            raise ValueError(f"instructions must contain {{{'}, {'.join(absent)}}}")
        return self

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    def theme(self, text: str) -> Theme | None:
        """The theme whose id or name is TEXT (case, spaces and punctuation ignored)."""
        key = _key(text)
        for t in self.themes:
            if key in (_key(t.id), _key(t.name)):
                return t
        return None

    def prompt(self, answer: str, question: str = "", scenario: str = "") -> str:
        """The instructions with this answer filled in."""
        lines = []
        for t in self.themes:
            examples = "; ".join(f'"{e}"' for e in t.examples)
            lines.append(
                f"- {t.id}: {t.name}. {t.description}" + (f" (e.g. {examples})" if examples else "")
            )
        return self.instructions.format(
            themes="\n".join(lines),
            question=question,
            answer=answer,
            scenario=scenario,
            topic=scenario,  # deprecated alias
        )


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def load_codebook(path: str | Path | None = None) -> Codebook:
    """The bundled codebook, or the one in a user's YAML file."""
    if path is None:
        origin = f"<bundled {DEFAULT_FILE}>"
        source = resources.files("valuecompass.coding").joinpath("data", DEFAULT_FILE)
        text = source.read_text(encoding="utf-8")
    else:
        origin = str(path)
        text = read_file(path, "codebook", CodingError)
    data, node = read_mapping(text, origin, CodingError)
    return validate(Codebook, data, node, origin, CodingError)
