"""Model backends behind one small interface, imported only when asked for."""

from valuecompass.models._base import (
    AsyncBackend,
    Backend,
    BackendError,
    BackendFactory,
    Completion,
    ConfigError,
    FatalBackendError,
    Params,
    Request,
    TransientError,
    expected_position,
    renormalise,
)
from valuecompass.models._registry import BACKENDS, get_backend, split_spec

__all__ = [
    "BACKENDS",
    "AsyncBackend",
    "Backend",
    "BackendError",
    "BackendFactory",
    "Completion",
    "ConfigError",
    "FatalBackendError",
    "Params",
    "Request",
    "TransientError",
    "expected_position",
    "get_backend",
    "renormalise",
    "split_spec",
]
