"""User-facing errors. The CLI prints their message and exits non-zero, with no traceback."""


class ValueCompassError(Exception):
    """A mistake in the user's input: a file, an option, a source. The message says where."""
