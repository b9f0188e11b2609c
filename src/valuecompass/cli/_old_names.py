"""Every old spelling the command line still accepts, read here and nowhere else.

* ``--topics`` is ``--scenarios`` and ``--values`` is ``--items``, on any command of class
  :class:`AcceptsOldNames` that has the new option; each prints one note.
* ``--mode form`` is ``--mode all`` (:class:`ModeChoice`); it prints one note.
* ``valuecompass form`` is ``valuecompass instrument`` (:func:`add_old_groups`). It prints
  nothing extra, so scripts that parse its output keep working.

The old spellings are hidden from ``--help``.
"""

from __future__ import annotations

from typing import Any

import click

from valuecompass.cli._common import Commands

#: Old option → the option it is now.
OLD_OPTIONS = {"--topics": "--scenarios", "--values": "--items"}
#: Old ``--mode`` value → the mode it is now.
OLD_MODES = {"form": "all"}
#: Old command group → the group it is now.
OLD_GROUPS = {"form": "instrument"}


def note(old: str, new: str) -> None:
    """Say on stderr, once, that OLD is the old spelling of NEW."""
    click.echo(f"note: {old} is deprecated; use {new}", err=True)


class ModeChoice(click.Choice):  # type: ignore[type-arg]
    """``--mode``'s choices, which also take an old mode name (:data:`OLD_MODES`), noted."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value in OLD_MODES:
            note(f"--mode {value}", f"--mode {OLD_MODES[value]}")
            value = OLD_MODES[value]
        return super().convert(value, param, ctx)


def _old_option(old: str, new: click.Option) -> click.Option:
    """A hidden option spelled OLD that takes what NEW takes."""
    name = f"old_{new.name}"
    if new.is_flag:
        return click.Option([old, name], is_flag=True, hidden=True)
    return click.Option([old, name], multiple=new.multiple, type=new.type, hidden=True)


class AcceptsOldNames(click.Command):
    """A command that also takes the old spelling (:data:`OLD_OPTIONS`) of any of its options:
    what is given under the old one is added to the new one's value, with one note."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._old: dict[str, tuple[str, click.Option]] = {}
        for param in list(self.params):
            for old, new in OLD_OPTIONS.items():
                if isinstance(param, click.Option) and new in param.opts:
                    hidden = _old_option(old, param)
                    self.params.append(hidden)
                    self._old[str(hidden.name)] = (old, param)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        for name, (old, new) in self._old.items():
            given = ctx.params.pop(name, None)
            if not given:
                continue
            note(old, new.opts[0])
            current = ctx.params.get(str(new.name))
            ctx.params[str(new.name)] = (*(current or ()), *given) if new.multiple else given
        return rest


class _OldGroup(Commands):
    """A command group under its old name: the same commands as the group it now is."""

    def __init__(self, name: str, new: click.Group) -> None:
        super().__init__(name, help=f"Deprecated alias of {new.name!r}.")
        self.new = new

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self.new.list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.new.get_command(ctx, cmd_name)


def add_old_groups(main: click.Group) -> None:
    """Add each old group name (:data:`OLD_GROUPS`) to MAIN, beside the group it now is."""
    for old, new in OLD_GROUPS.items():
        group = main.commands[new]
        assert isinstance(group, click.Group), new
        main.add_command(_OldGroup(old, group))
