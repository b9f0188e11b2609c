"""CSRF tokens, the request-size limit, security headers and the admin token check.

CSRF uses signed double submission: a random nonce in an HttpOnly, SameSite=Lax cookie, and in
each form a hidden field holding HMAC-SHA256(secret, nonce and the participant's session key).
Another site can neither read the cookie nor compute the HMAC, a token is good only in the
session it was made for, and every comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

CSRF_COOKIE = "vc_csrf"
SESSION_COOKIE = "vc_session"
ADMIN_COOKIE = "vc_admin"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Refusal(HTTPException):
    """An HTTP error whose page says the ui text KEY (its ``{name}`` placeholders filled from
    VALUES) in the participant's language; ``detail`` is KEY."""

    def __init__(
        self, status: int, key: str, headers: dict[str, str] | None = None, **values: object
    ) -> None:
        super().__init__(status, key, headers=headers)
        self.key = key
        self.values = values


class CsrfError(Refusal):
    def __init__(self) -> None:
        super().__init__(403, "error_csrf")


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def sign(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def csrf_token(secret: bytes, nonce: str, session: str) -> str:
    """The token for NONCE in SESSION (the participant's session key, '' before they have one)."""
    return sign(secret, f"csrf:{nonce}:{session}")


def check_csrf(secret: bytes, nonce: str | None, token: str | None, sessions: list[str]) -> None:
    """Raise :class:`CsrfError` unless TOKEN signs the cookie's NONCE in one of SESSIONS."""
    if not nonce or not token:
        raise CsrfError
    given = token.encode()
    if not any(hmac.compare_digest(csrf_token(secret, nonce, s).encode(), given) for s in sessions):
        raise CsrfError


#: The least an admin token's characters must carry, in bits (see :func:`token_bits`).
MIN_TOKEN_BITS = 96
MAKE_TOKEN = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def token_bits(token: str) -> float:
    """A guess at TOKEN's strength: its length times the Shannon entropy of its characters.

    Edge cases: a token of one repeated character carries 0 bits; 32 random hexadecimal digits
    about 114, ``secrets.token_urlsafe(32)`` about 200. It never overrates a random token's
    alphabet, and it underrates short random ones, which is the safe side."""
    counts = Counter(token)
    n = len(token)
    return -sum(c * math.log2(c / n) for c in counts.values()) if n else 0.0


def same_token(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of a presented admin token (or cookie) with the right one."""
    if not given or not expected:
        return False
    return secrets.compare_digest(given.encode(), expected.encode())


class Guard:
    """Pure ASGI middleware: refuse bodies over the limit with 413, add security headers.

    The declared Content-Length is checked first; a body sent without one (chunked) is counted
    as it arrives and refused at the limit.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        headers: list[tuple[bytes, bytes]],
        refuse: Callable[[Refusal, Scope], Awaitable[bytes]],
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.headers = headers
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._declared(scope)
        if problem is not None:
            await self._reply(send, scope, problem)
            return
        await self.app(scope, self._counting(receive), self._with_headers(send))

    def _declared(self, scope: Scope) -> Refusal | None:
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    return Refusal(400, "error_bad_length")
                if int(value) > self.max_body:
                    return self._too_large()
        return None

    def _too_large(self) -> Refusal:
        return Refusal(413, "error_too_large", kib=self.max_body // 1024)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise self._too_large()
            return message

        return counted

    def _with_headers(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        return sending

    async def _reply(self, send: Send, scope: Scope, refusal: Refusal) -> None:
        body = await self.refuse(refusal, scope)
        status = refusal.status_code
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *self.headers,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def security_headers(form_targets: list[str]) -> list[tuple[bytes, bytes]]:
    """Headers for every response; FORM_TARGETS are origins a form may redirect to."""
    form_action = " ".join(["'self'", *form_targets])
    policy = (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]
