"""Helpers for testing code that uses ValueCompass: loopback stubs of an OpenAI-compatible
server and of Anthropic's Messages API, each with its provider's batch endpoints."""

from valuecompass.testing._batchbook import BatchBook
from valuecompass.testing.anthropic_stub import AnthropicStub, serve_anthropic_stub
from valuecompass.testing.openai_stub import StubServer, serve_stub
from valuecompass.testing.survey_load import prolific_id

__all__ = [
    "AnthropicStub",
    "BatchBook",
    "StubServer",
    "prolific_id",
    "serve_anthropic_stub",
    "serve_stub",
]
