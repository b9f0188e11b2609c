"""The one place that builds rich consoles, for the command line and the run's progress bar.

On a terminal a console uses the terminal's width. Written to a file or a pipe, rich would
hard-wrap every line at 80 columns, splitting messages a user greps or a test reads; there a
console never wraps text (``soft_wrap``) and lays tables out 160 columns wide.
"""

from __future__ import annotations

import sys

from rich.console import Console

#: Width of tables written to a file or pipe.
PIPE_WIDTH = 160


def make_console(*, stderr: bool = False) -> Console:
    """A console on standard output (or STDERR): terminal width, or unwrapped when piped."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPE_WIDTH, soft_wrap=True)
