"""The ``valuecompass`` program: the command line, with Ctrl-C handled from the first moment.

Ctrl-C while the command's modules are still being imported would otherwise print a traceback;
here it is one line and exit status 130, as it is once a command runs. The process then ends
with :func:`os._exit`: CPython reports a KeyboardInterrupt that was raised inside code it ran
from a string (a dataclass's generated ``__init__``, a named tuple) as death by SIGINT even
when it was handled, so the status would depend on where the signal happened to land.
"""

from __future__ import annotations

import os
import sys


def _interrupted() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def main() -> None:
    """Run the ``valuecompass`` command line."""
    try:
        from valuecompass.cli import main as cli

        cli()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        _interrupted()
    except SystemExit as exc:
        if exc.code == 130:  # the command line's own Ctrl-C: cleanup has run
            _interrupted()
        raise
