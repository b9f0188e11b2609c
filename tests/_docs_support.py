"""Reading the documentation's examples (for tests/test_docs.py), by the convention
CONTRIBUTING.md describes:

* ```` ```sh ```` (or ``bash``, ``shell``) blocks are commands, one a line, a line ending in ``\\``
  going on to the next; in a ``console`` block only lines starting ``$ `` are commands.
* A comment ``# long`` (or ``# long: why``) on a command marks it as taking long: it runs only
  under ``pytest -m long``. ``# needs: what`` marks a command that needs something outside the
  checkout (an API key, a server, a GPU): it never runs. ``long`` or ``needs`` after the block's
  language (```` ```sh long ````) marks every command of the block. Every command's options
  are checked, whatever its tier.
* ```` ```python ```` blocks run as they are (``# long`` or ``# needs:`` on their first line).
* ```` ```yaml file=NAME ```` writes NAME in the working directory, for the commands after it.
* A page's blocks run in order in one directory, as one shell session.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import click

Tier = Literal["fast", "long", "needs"]
#: Tiers in the order a stronger one wins (a block's ``needs`` over a command's ``long``).
TIERS: tuple[Tier, ...] = ("fast", "long", "needs")
SHELLS = {"sh", "bash", "shell", "console"}
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+)(?P<info>.*)$")
_INLINE = re.compile(r"`(valuecompass\s[^`]+)`")
_OPERATOR = re.compile(r"^[();<>|&]+$")


@dataclass(frozen=True)
class Command:
    """One shell command of a page: its text as written (lines joined), its code without
    comments, and its tier."""

    page: str
    line: int
    text: str
    code: str
    tier: Tier = "fast"
    inline: bool = False  # written in the prose, where naming a group is fine

    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass(frozen=True)
class Block:
    """A fenced block worth acting on: shell commands, Python to run, or a file to write."""

    page: str
    line: int
    kind: Literal["sh", "python", "file"]
    body: str
    name: str = ""
    tier: Tier = "fast"
    commands: tuple[Command, ...] = ()


def split_comment(line: str) -> tuple[str, str]:
    """LINE's code and its comment, as a shell reads them: ``#`` at the start or after
    whitespace, outside quotes, begins a comment (so ``store.db#run`` is no comment)."""
    quote = ""
    escaped = False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def tier_of(comments: list[str]) -> Tier:
    """``long`` or ``needs`` when a comment starts with that word, else ``fast``."""
    for comment in comments:
        word = re.split(r"[\s:]", comment, maxsplit=1)[0]
        if word == "long":
            return "long"
        if word == "needs":
            return "needs"
    return "fast"


def shell_commands(page: str, first_line: int, body: str, console: bool) -> Iterator[Command]:
    """The commands of a shell block whose first line is page line FIRST_LINE."""
    lines = body.split("\n")
    i = 0
    while i < len(lines):
        raw = lines[i]
        if console:
            if not raw.startswith("$ "):
                i += 1
                continue
            raw = raw[2:]
        start, text, code, comments = i, [raw], [], []
        while True:
            part, comment = split_comment(text[-1])
            if comment:
                comments.append(comment)
            if not part.endswith("\\"):
                code.append(part)
                break
            code.append(part[:-1].rstrip())
            i += 1
            if i == len(lines):
                break
            text.append(lines[i])
        i += 1
        joined = " ".join(c.strip() for c in code if c.strip())
        if joined:
            yield Command(page, first_line + start, "\n".join(text), joined, tier_of(comments))


def blocks(page: Path, root: Path) -> Iterator[Block]:
    """The blocks of PAGE (named relative to ROOT) to act on, in order."""
    name = page.relative_to(root).as_posix()
    lines = page.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        indent, fence, info = opened["indent"], opened["fence"], opened["info"].split()
        body, i = [], i + 1
        start = i + 1  # the page line (1-based) of the block's first line
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        block = _block(name, start, info, "\n".join(body))
        if block is not None:
            yield block


def _block(page: str, start: int, info: list[str], body: str) -> Block | None:
    language = info[0] if info else ""
    attributes = dict(word.split("=", 1) for word in info[1:] if "=" in word)
    marked = [t for t in TIERS if t in info[1:]]
    if language in SHELLS:
        commands = tuple(
            replace(c, tier=_stronger(c.tier, *marked))
            for c in shell_commands(page, start, body, console=language == "console")
        )
        return Block(page, start, "sh", body, commands=commands)
    if language == "python":
        first = tier_of([split_comment(body.split("\n", 1)[0])[1]])
        return Block(page, start, "python", body, tier=_stronger(first, *marked))
    if "file" in attributes:
        return Block(page, start, "file", body, name=attributes["file"])
    return None


def _stronger(*tiers: Tier) -> Tier:
    return max(tiers, key=TIERS.index)


def inline_commands(page: Path, root: Path) -> Iterator[Command]:
    """``valuecompass ...`` commands written inline in PAGE's prose, a span possibly broken
    over two lines (never run, but checked)."""
    name = page.relative_to(root).as_posix()
    prose, inside = [], False
    for line in page.read_text(encoding="utf-8").split("\n"):
        fence = line.strip().startswith("```")
        inside = inside != fence
        prose.append("" if inside or fence else line)
    text = "\n".join(prose)
    for found in _INLINE.finditer(text):
        line = text.count("\n", 0, found.start()) + 1
        code = " ".join(found[1].split())
        yield Command(name, line, code, code, "needs", inline=True)


def tokens(code: str) -> list[str]:
    lexer = shlex.shlex(code, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    return list(lexer)


def invocations(code: str) -> Iterator[list[str]]:
    """The arguments of each ``valuecompass`` invocation in CODE, up to a shell operator."""
    words = tokens(code)
    for i, word in enumerate(words):
        if Path(word).name != "valuecompass":
            continue
        args = []
        for arg in words[i + 1 :]:
            if _OPERATOR.match(arg):
                break
            args.append(arg)
        yield args


def option_problems(main: click.Group, args: list[str], whole: bool = True) -> list[str]:
    """What is wrong with ARGS for the command tree MAIN: an unknown command, a group given no
    command (when the command is to be WHOLE), an option the command lacks, a choice it does
    not offer."""
    command: click.Command = main
    path = ["valuecompass"]
    context = click.Context(main)
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        sub = command.get_command(context, args[0])
        if sub is None:
            return [f"{' '.join(path)} has no command {args[0]!r}"]
        command, path, args = sub, [*path, args[0]], args[1:]
    if isinstance(command, click.Group) and whole and not {"--help", "--version"} & set(args):
        return [f"{' '.join(path)} is a group: name one of its commands"]
    return _option_problems(command, " ".join(path), args)


def _option_problems(command: click.Command, name: str, args: list[str]) -> list[str]:
    options = {opt: p for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    options = {k: v for k, v in options.items() if k.startswith("-")}
    problems = []
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-" or arg in ("--help", "--version"):
            continue
        flag, _, attached = arg.partition("=")
        param = options.get(flag)
        if param is None:
            problems.append(f"{name} has no option {flag}")
            continue
        value = attached or (args[i + 1] if i + 1 < len(args) else "")
        choices = param.type.choices if isinstance(param.type, click.Choice) else None
        if choices is not None and "$" not in value and value not in choices:
            said = ", ".join(map(str, choices))
            problems.append(f"{name} {flag}: {value!r} is not one of {said}")
    return problems
