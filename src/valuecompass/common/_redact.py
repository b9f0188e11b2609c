"""Passwords out of what is shown: any ``scheme://user:password@`` inside a text."""

from __future__ import annotations

import re

#: A URL's user and password: ``scheme://user:password@`` (the user may be empty).
_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):[^@\s]*@")


def redact_text(text: str) -> str:
    """TEXT with the password of every URL in it replaced by ``***`` (a command line, a source
    name such as ``m=postgresql://u:secret@host/db#run``, an error message).

    Edge cases: a URL without a password, or text without a URL, is returned as it is; a
    password that is itself ``***`` stays ``***``."""
    return _CREDENTIALS.sub(r"\1:***@", text)
