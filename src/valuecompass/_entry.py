"""The ``valuecompass`` program: the command line, with Ctrl-C handled from the first moment.

Ctrl-C while the command's modules are still being imported would otherwise print a traceback;
here it is one line and exit status 130, as it is once a command runs.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run the ``valuecompass`` command line."""
    try:
        from valuecompass.cli import main as cli
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    cli()
