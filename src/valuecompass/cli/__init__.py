"""The ``valuecompass`` command: parse options, call the library once, print the result.

One module per command group; every command's errors are handled once, by :class:`Commands`.
"""

from __future__ import annotations

import click

from valuecompass.cli._common import Commands
from valuecompass.cli._old_names import add_old_groups
from valuecompass.cli.actions import actions_group
from valuecompass.cli.align import align, demo
from valuecompass.cli.code import code_group
from valuecompass.cli.export import export_group
from valuecompass.cli.gap import gap_command
from valuecompass.cli.instrument import instrument_group
from valuecompass.cli.plan import plan_command
from valuecompass.cli.profile import profile_command
from valuecompass.cli.report import report
from valuecompass.cli.rigor import rigor_group
from valuecompass.cli.run import run_command, runs_group
from valuecompass.cli.science import COMMANDS as SCIENCE_COMMANDS
from valuecompass.cli.survey import survey_group


@click.group(cls=Commands)
@click.version_option(package_name="valuecompass")
def main() -> None:
    """Measure how well a language model's values agree with people's, in context."""


for _command in (
    instrument_group,
    align,
    gap_command,
    actions_group,
    demo,
    run_command,
    runs_group,
    profile_command,
    report,
    rigor_group,
    plan_command,
    code_group,
    survey_group,
    export_group,
):
    main.add_command(_command)
for _command in SCIENCE_COMMANDS:
    rigor_group.add_command(_command)
add_old_groups(main)

__all__ = ["main"]
