"""Helpers for testing code that uses ValueCompass: a loopback OpenAI-compatible server."""

from valuecompass.testing.openai_stub import StubServer, serve_stub
from valuecompass.testing.survey_load import prolific_id

__all__ = ["StubServer", "prolific_id", "serve_stub"]
