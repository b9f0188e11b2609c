"""Helpers for testing code that uses ValueCompass: a loopback OpenAI-compatible server."""

from valuecompass.testing.openai_stub import StubServer, serve_stub

__all__ = ["StubServer", "serve_stub"]
