""" "Irrelevant" as an outcome: how often each side calls a value irrelevant, and a prompt mode
that lets the model do so too.

People could mark any value irrelevant in the survey (the released data holds 862 such answers
of 6,272); the paper's prompts gave the model no such option. :func:`offer_irrelevant` turns a
prompt design into one that does, so both sides answer on one scale; :func:`irrelevant_rates`
then counts either side's answers the same way.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from valuecompass.common import read_file, read_mapping, validate
from valuecompass.prompts import MODES, PromptSet
from valuecompass.stats._bootstrap import StatsError

IRRELEVANT = "irrelevant"  # the tidy table's missing reason (parsing.Missing.IRRELEVANT)
_DATA = "irrelevant_option.yaml"


class IrrelevantOption(BaseModel):
    """The sentence that offers the option, per prompt mode."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    all: str = Field(
        min_length=1,
        validation_alias=AliasChoices("all", "form"),  # "form": mode all's old name
        description="added to each requirement of mode all",
    )
    item: str = Field(min_length=1, description="added to each item-mode requirement")


def load_irrelevant_option(path: str | Path | None = None) -> IrrelevantOption:
    """The bundled sentences, or a user's YAML file with ``all`` and ``item``."""
    if path is None:
        origin = f"<bundled {_DATA}>"
        text = resources.files("valuecompass.stats").joinpath("data", _DATA).read_text("utf-8")
    else:
        origin = str(path)
        text = read_file(path, "the file", StatsError)
    data, node = read_mapping(text, origin, StatsError)
    return validate(IrrelevantOption, data, node, origin, StatsError)


def offer_irrelevant(prompts: PromptSet, option: IrrelevantOption | None = None) -> PromptSet:
    """A copy of PROMPTS whose every requirement also offers "irrelevant"."""
    extra = option or load_irrelevant_option()
    data = prompts.model_dump(mode="json")
    for mode in MODES:
        sentence = getattr(extra, mode)
        levels = data["requirements"][mode]
        data["requirements"][mode] = {k: f"{v.rstrip()} {sentence}" for k, v in levels.items()}
    data["name"] = f"{prompts.name} (irrelevant offered)"
    return PromptSet.model_validate(data)


def write_prompts(prompts: PromptSet, path: Path) -> None:
    """Write a prompt design as YAML, ready for ``valuecompass run --prompts PATH``."""
    text = yaml.safe_dump(prompts.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise StatsError(f"{path}: cannot write the prompt design ({exc.strerror})") from exc
    finally:
        tmp.unlink(missing_ok=True)


def irrelevant_rates(answers: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """Share of answers calling the value irrelevant, per BY: any of the answer table's
    columns, e.g. every context axis and ``value`` (``(*context_columns(instrument),
    "value")``: per cell) or ``("value",)``.

    The denominator is the answers that chose something (a scale point or irrelevant); failed
    calls, unreadable and empty answers are left out. Columns: BY, ``irrelevant``,
    ``answered``, ``rate`` (``NaN`` where nothing was answered).
    """
    chose = answers["position"].notna() | (answers["missing"] == IRRELEVANT)
    df = answers.loc[chose, list(by)].copy()
    df["irrelevant"] = (answers.loc[chose, "missing"] == IRRELEVANT).astype(int)
    out = df.groupby(list(by), sort=False).agg(
        irrelevant=("irrelevant", "sum"), answered=("irrelevant", "size")
    )
    out["rate"] = out["irrelevant"] / out["answered"].where(out["answered"] > 0)
    return out.reset_index()


def compare_irrelevant(
    human_answers: pd.DataFrame,
    model_answers: pd.DataFrame,
    by: tuple[str, ...] = ("value",),
) -> pd.DataFrame:
    """People's and the model's irrelevance rates side by side, per BY.

    Columns: BY, ``people_rate``, ``people_n``, ``model_rate``, ``model_n`` (``n`` = answers
    that chose something). A model asked without the option has rate 0 wherever it answered.
    """
    people = irrelevant_rates(human_answers, by).set_index(list(by))
    model = irrelevant_rates(model_answers, by).set_index(list(by))
    out = pd.DataFrame(
        {
            "people_rate": people["rate"],
            "people_n": people["answered"],
            "model_rate": model["rate"],
            "model_n": model["answered"],
        }
    )
    return out.reset_index()
