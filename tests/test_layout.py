"""The layout rule: a room uses another room's public names only (its ``__init__`` re-exports),
never a ``_private`` module of another package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from valuecompass.instrument import InstrumentError, load_instrument, overlay_section

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "valuecompass"

#: Known crossings left to the survey's own work (the survey writes its store tables directly).
KNOWN = {
    ("survey/_routes.py", "valuecompass.store._survey_tables"),
    ("survey/_study.py", "valuecompass.store._survey_tables"),
}


def _crossings() -> set[tuple[str, str]]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        room = rel.parts[0] if len(rel.parts) > 1 else None  # top-level modules: no room
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if len(parts) < 3 or parts[0] != "valuecompass" or parts[1] == room:
                    continue
                if any(p.startswith("_") for p in parts[2:]):
                    found.add((rel.as_posix(), name))
    return found


def test_no_room_imports_another_rooms_private_module() -> None:
    assert _crossings() - KNOWN == set()


def test_the_check_sees_a_crossing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    room = tmp_path / "prompts"
    room.mkdir()
    (room / "x.py").write_text("from valuecompass.instrument._translate import load_overlay\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path)
    assert _crossings() == {("prompts/x.py", "valuecompass.instrument._translate")}


def test_overlay_section_is_the_overlays_texts_for_other_rooms() -> None:
    multi = load_instrument("value_form_multilingual")
    prompts = overlay_section(multi, "de", "prompts")
    assert prompts["system"].startswith("Sie nehmen an einer Umfrage")
    assert overlay_section(multi, "fr", "nothing_here") == {}
    with pytest.raises(InstrumentError, match="no 'xx' translation; have: en, de, fr"):
        overlay_section(multi, "xx", "prompts")
