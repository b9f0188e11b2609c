"""A dataset folder in Hugging Face's layout: Parquet files under ``data/`` (each named by its
table and a digest of its bytes), a README.md dataset
card whose ``configs:`` block names them, and the files that say how the data was made.

The folder is ours only when it holds :data:`MARK` (which lists the files it wrote): such a
folder, or an empty one, is written into; anything else is refused, so an export never touches
files of the user's. Writing again replaces the files the earlier export wrote (a file it no
longer writes is removed) and keeps the licence the user filled in on the earlier card.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from valuecompass import __version__
from valuecompass.export._parquet import ExportError, staging_name, write_parquet

#: The file that marks a folder as a ValueCompass export, and what it says.
MARK = "valuecompass-export.json"
GENERATOR = "valuecompass"
#: Where Hugging Face's licence ids are listed (the card's licence is left to the user).
LICENCES = "https://huggingface.co/docs/hub/repositories-licenses"


@dataclass(frozen=True)
class Config:
    """One table of the dataset: its config name, rows, and a line saying what a row is."""

    name: str
    frame: pd.DataFrame
    about: str


@dataclass
class Dataset:
    """What an export writes: its tables, its other files (name → text), and the card's title,
    summary lines and what kind of export it is (``run``, ``survey``, ``instrument``)."""

    kind: str
    source: str
    title: str
    summary: list[str]
    configs: list[Config]
    files: dict[str, str] = field(default_factory=dict)


def earlier_export(out: Path) -> dict[str, Any] | None:
    """The mark of the export at OUT (``{}`` for an empty folder, ``None`` for no folder); a
    file, or a folder that is neither empty nor an export of ours, is an :class:`ExportError`."""
    if not out.exists():
        return None
    if not out.is_dir():
        raise ExportError(f"cannot export to {out}: a file is there; name a folder")
    mark = out / MARK
    if mark.is_file():
        try:
            data = json.loads(mark.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and data.get("generator") == GENERATOR:
            return data
    try:
        empty = not any(out.iterdir())
    except OSError as exc:
        raise ExportError(f"cannot export to {out}: {exc.strerror}") from exc
    if not empty:
        raise ExportError(
            f"cannot export to {out}: a folder that is not an earlier ValueCompass export is "
            "there; move it or name another folder"
        )
    return {}


def write_dataset(dataset: Dataset, out: Path) -> list[Path]:
    """Write DATASET as a folder at OUT (made where missing; refused where not ours); the
    files written."""
    before = earlier_export(out)
    licence = _earlier_licence(out) if before else None
    try:
        (out / "data").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot export to {out}: {exc.strerror}") from exc
    tables = {c.name: _write_table(c, out) for c in dataset.configs}
    texts = {**dataset.files, "README.md": card(dataset, tables, licence)}
    for name, text in texts.items():
        _write_text(out / name, text)
    written = [*(path for path, _ in tables.values()), *texts, MARK]
    for stale in (before or {}).get("files", []):
        if isinstance(stale, str) and stale not in written and _inside(stale):
            with contextlib.suppress(OSError):
                (out / stale).unlink()
    mark = {"generator": GENERATOR, "version": __version__, "kind": dataset.kind,
            "source": dataset.source, "files": written}  # fmt: skip
    _write_text(out / MARK, json.dumps(mark, indent=2) + "\n")
    return [out / name for name in written]


def _write_table(config: Config, out: Path) -> tuple[str, Any]:
    """Write CONFIG's table under OUT's ``data/`` as ``NAME-DIGEST.parquet``; its path there and
    its schema. The digest of the file's bytes is in its name because ``datasets`` caches a
    local folder's tables by their paths in the card alone: a table whose rows changed must
    have a new path to be read again rather than served from that cache."""
    staged = out / "data" / f".{config.name}.parquet"
    table = write_parquet(config.frame, staged)
    digest = hashlib.sha256(staged.read_bytes()).hexdigest()[:16]
    path = f"data/{config.name}-{digest}.parquet"
    try:
        os.replace(staged, out / path)
    except OSError as exc:
        raise ExportError(f"{out / path}: cannot write ({exc.strerror or exc})") from exc
    return path, table.schema


def _inside(name: str) -> bool:
    """Whether NAME is a path inside the folder (what a mark lists; never ``..`` or absolute)."""
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def _write_text(path: Path, text: str) -> None:
    tmp = staging_name(path)
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def front_matter(text: str) -> dict[str, Any]:
    """The YAML block a dataset card starts with (``{}`` when it has none or it is not YAML)."""
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---\n", 4)
    if end < 0:
        return {}
    try:
        data = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _earlier_licence(out: Path) -> str | None:
    try:
        text = (out / "README.md").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = front_matter(text).get("license")
    return str(found) if found else None


def card(dataset: Dataset, tables: dict[str, tuple[str, Any]], licence: str | None) -> str:
    """The README.md dataset card: the metadata block (licence, the ``configs:`` naming each
    Parquet file of TABLES, config name → its path and schema), then what the data is, each
    table's columns and how to load it."""
    meta = {
        "pretty_name": dataset.title,
        "tags": ["valuecompass", dataset.kind],
        "configs": [
            {
                "config_name": c.name,
                "data_files": [{"split": "train", "path": tables[c.name][0]}],
                **({"default": True} if i == 0 else {}),
            }
            for i, c in enumerate(dataset.configs)
        ],
    }
    if licence:
        head = f"license: {json.dumps(licence)}\n"
    else:
        head = (
            f"# license: left for you: the licence you release this data under ({LICENCES})\n"
            "license:\n"
        )
    lines = ["---", head + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(),
             "---", "", f"# {dataset.title}", "", *dataset.summary, ""]  # fmt: skip
    for c in dataset.configs:
        lines += [f"## `{c.name}` ({len(c.frame)} rows)", "", c.about, "", "| column | type |",
                  "| --- | --- |"]  # fmt: skip
        lines += [f"| `{f.name}` | {f.type} |" for f in tables[c.name][1]]
        lines.append("")
    others = sorted(n for n in dataset.files)
    if others:
        lines += ["## Files", "", *(f"- `{n}`" for n in others), ""]
    lines += [
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        'data = load_dataset("path/to/this/folder")  # the first table; name another: '
        f'load_dataset(path, "{dataset.configs[-1].name}")',
        "```",
        "",
        f"Written by ValueCompass {__version__}. The licence is left for you to fill in above.",
        "",
    ]
    return "\n".join(lines)
