"""What a run is: the model, the grid, the parameters and where answers go."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from valuecompass.instrument import Instrument, UnknownNameError
from valuecompass.prompts import Mode, PromptSet

#: Tokens to generate when the user gives no --max-tokens.
DEFAULT_MAX_TOKENS: dict[str, int] = {"form": 1024, "item": 3}


class RunConfig(BaseModel):
    """Everything that defines a run; the CLI builds one, Python callers may too."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("local", description="backend spec: local, local:PATH, openai:NAME, mock")
    backend_options: dict[str, Any] = Field(default_factory=dict)
    db: str = Field("valuecompass.db", description="SQLite path or database URL")
    run: str | None = Field(None, description="run name; derived from model and grid if omitted")
    mode: Mode = "item"
    countries: list[str] = Field(default_factory=list, description="all when empty")
    topics: list[str] = Field(default_factory=list, description="all when empty")
    values: list[str] = Field(default_factory=list, description="all when empty")
    variants: list[int] = Field(default_factory=list, description="all when empty")
    samples: int = Field(1, ge=1)
    temperature: float = Field(0.2, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1)
    seed: int = 0
    concurrency: int = Field(8, ge=1, le=1024)
    retries: int = Field(5, ge=0)
    backoff: float = Field(0.5, ge=0.0, description="first retry delay in seconds; doubles")
    max_failures: int = Field(20, ge=1, description="consecutive failed prompts that stop a run")
    instrument_path: Path | None = None
    prompts_path: Path | None = None
    progress: bool = True
    executor: Literal["local", "ray"] = Field(
        "local", description="local: threads in this process; ray: actors on a Ray cluster"
    )
    ray_address: str | None = Field(
        None, description="the Ray cluster to join; a local one is started when omitted"
    )
    ray_workers: int | None = Field(
        None, ge=1, description="Ray actors, each with its own backend; default: as resources allow"
    )

    def resolved_max_tokens(self) -> int:
        return self.max_tokens or DEFAULT_MAX_TOKENS[self.mode]


def resolve_names(instrument: Instrument, config: RunConfig) -> dict[str, list[str]]:
    """Canonical ids for the grid's countries, topics and values; unknown names are errors."""
    out: dict[str, list[str]] = {}
    for kind, given, lookup, every in (
        ("countries", config.countries, instrument.country, [c.id for c in instrument.countries]),
        ("topics", config.topics, instrument.scenario, [s.id for s in instrument.scenarios]),
        ("values", config.values, instrument.value, instrument.value_ids),
    ):
        ids = []
        for name in given:
            try:
                ids.append(lookup(name).id)
            except UnknownNameError as exc:
                raise UnknownNameError(f"--{kind}: {exc.args[0]}") from exc
        out[kind] = list(dict.fromkeys(ids)) or every
    return out


def prompts_digest(prompts: PromptSet) -> str:
    """SHA-256 of the design. Fields left at their defaults that older designs did not have
    (``layouts``, a variant's ``layout``, a style's ``bullet``) are left out, so the digest
    of a design that does not use them is what it always was."""
    data = prompts.model_dump(mode="json")
    if not data["layouts"]:
        del data["layouts"]
    for variant in data["variants"]:
        if variant["layout"] is None:
            del variant["layout"]
    for style in data["styles"].values():
        if style["bullet"] == "- ":
            del style["bullet"]
    payload = json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()


def cache_key(
    identity: str, params: dict[str, Any], messages: list[dict[str, str]], sample: int
) -> str:
    """The key a prompt's answer is cached under: model, parameters, prompt text and sample."""
    payload = json.dumps([identity, params, messages, sample], sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()
