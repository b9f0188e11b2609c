"""The layout rules, over every module of the package, the top level included:

* a room uses another room's public names only (its ``__init__`` re-exports, or a public
  module of it), never a ``_private`` module of another package or of the top level;
* imports run down the floors only: a room may use rooms
  on its own floor or below, never one above, and two rooms never use each other.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from valuecompass.instrument import InstrumentError, load_instrument, overlay_section

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "valuecompass"

#: Each room's floor, bottom first. A top-level module is a room of its own (by its name);
#: the package itself (``__init__``, ``__main__``, ``_entry``) sits on top.
FLOORS: dict[str, int] = {
    "errors": 0,
    "settings": 0,
    "_version": 0,
    "common": 0,
    "instrument": 1,
    "models": 1,
    "answers": 1,
    "prompts": 2,
    "store": 2,
    "runner": 3,
    "sources": 3,
    "export": 3,
    "metrics": 4,
    "stats": 4,
    "coding": 4,
    "api": 5,
    "report": 6,
    "survey": 6,
    "testing": 7,
    "cli": 7,
    "": 8,
}
ROOT_MODULES = {"__init__", "__main__", "_entry"}


def _room(rel: Path) -> str:
    """The room of a module: its package, or for a top-level module its own name."""
    if len(rel.parts) > 1:
        return rel.parts[0]
    name = rel.stem
    return "" if name in ROOT_MODULES else name


def _imports(tree: ast.AST) -> Iterator[str]:
    """Every module an import names, ``from valuecompass import x`` as ``valuecompass.x``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "valuecompass":
                yield from (f"valuecompass.{alias.name}" for alias in node.names)
            else:
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def _modules(package: Path) -> Iterator[tuple[str, str, list[str]]]:
    """(file, its room, the valuecompass modules it imports) for every module of PACKAGE."""
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [n for n in _imports(tree) if n.split(".")[0] == "valuecompass"]
        yield rel.as_posix(), _room(rel), names


def _target(name: str) -> tuple[str, bool]:
    """The room a module name points at, and whether the name reaches a private module."""
    parts = name.split(".")[1:]
    if not parts:
        return "", False
    head, below = parts[0], parts[1:]
    if head == "__version__":  # the package's public re-export of _version
        return "_version", False
    if head in ROOT_MODULES:
        return "", True
    return head, head.startswith("_") or any(p.startswith("_") for p in below)


def _crossings(package: Path) -> set[tuple[str, str]]:
    """(file, module) where a room reaches another room's private module; the package's own
    ``__init__`` may use its top-level modules."""
    found = set()
    for rel, room, names in _modules(package):
        for name in names:
            target, private = _target(name)
            if private and target != room and room != "":
                found.add((rel, name))
    return found


def _arrows(package: Path) -> dict[tuple[str, str], str]:
    """Room → room, with one file that makes the arrow."""
    arrows: dict[tuple[str, str], str] = {}
    for rel, room, names in _modules(package):
        for name in names:
            target, _ = _target(name)
            if target != room and target != "":
                arrows.setdefault((room, target), rel)
    return arrows


def _upward(package: Path) -> set[str]:
    return {
        f"{file}: {a} (floor {FLOORS.get(a, '?')}) -> {b} (floor {FLOORS.get(b, '?')})"
        for (a, b), file in _arrows(package).items()
        if FLOORS.get(b, 99) > FLOORS.get(a, -1)
    }


def _mutual(package: Path) -> set[str]:
    arrows = _arrows(package)
    return {f"{a} <-> {b}" for a, b in arrows if (b, a) in arrows and a < b}


def test_every_room_has_a_floor() -> None:
    rooms = {room for _, room, _ in _modules(PACKAGE)}
    assert rooms - set(FLOORS) == set()
    assert set(FLOORS) - rooms == set()


def test_no_room_imports_another_rooms_private_module() -> None:
    assert _crossings(PACKAGE) == set()


def test_imports_run_down_the_floors_only() -> None:
    assert _upward(PACKAGE) == set()


def test_no_two_rooms_use_each_other() -> None:
    assert _mutual(PACKAGE) == set()


def test_the_architecture_page_shows_these_floors() -> None:
    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawn: dict[str, int] = {}
    for floor, rooms in re.findall(r"^\| (\d) \| ([^|]+) \|", page, flags=re.MULTILINE):
        for room in re.findall(r"`([a-z_]+)/?`", rooms):
            drawn[room] = int(floor)
    assert drawn == {room: floor for room, floor in FLOORS.items() if room}


def _house(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_check_sees_a_crossing(tmp_path: Path) -> None:
    house = _house(
        tmp_path,
        {
            "prompts/x.py": "from valuecompass.instrument._translate import load_overlay\n",
            "cli/y.py": "from valuecompass._entry import main\n",
            "store/z.py": "from valuecompass import answers\nfrom valuecompass.store import x\n",
        },
    )
    assert _crossings(house) == {
        ("prompts/x.py", "valuecompass.instrument._translate"),
        ("cli/y.py", "valuecompass._entry"),
    }


def test_the_check_sees_an_arrow_up_and_a_circle(tmp_path: Path) -> None:
    house = _house(
        tmp_path,
        {
            "store/a.py": "def f():\n    from valuecompass.sources import load_source\n",
            "metrics/b.py": "from valuecompass import stats\n",
            "stats/c.py": "from valuecompass.metrics import align\n",
            "answers/d.py": "from valuecompass import __version__\n",
        },
    )
    assert _upward(house) == {"store/a.py: store (floor 2) -> sources (floor 3)"}
    assert _mutual(house) == {"metrics <-> stats"}


def test_overlay_section_is_the_overlays_texts_for_other_rooms() -> None:
    multi = load_instrument("value_form_multilingual")
    prompts = overlay_section(multi, "de", "prompts")
    assert prompts["system"].startswith("Sie nehmen an einer Umfrage")
    assert overlay_section(multi, "fr", "nothing_here") == {}
    with pytest.raises(InstrumentError, match="no 'xx' translation; have: en, de, fr"):
        overlay_section(multi, "xx", "prompts")
