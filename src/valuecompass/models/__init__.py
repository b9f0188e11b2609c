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
from valuecompass.models._batches import BatchAPI, BatchResult, BatchState
from valuecompass.models._registry import (
    BACKENDS,
    ENTRY_POINT_GROUP,
    backend_factory,
    backend_options,
    get_backend,
    plugins,
    split_spec,
)

__all__ = [
    "BACKENDS",
    "ENTRY_POINT_GROUP",
    "AsyncBackend",
    "Backend",
    "BackendError",
    "BackendFactory",
    "BatchAPI",
    "BatchResult",
    "BatchState",
    "Completion",
    "ConfigError",
    "FatalBackendError",
    "Params",
    "Request",
    "TransientError",
    "backend_factory",
    "backend_options",
    "expected_position",
    "get_backend",
    "plugins",
    "renormalise",
    "split_spec",
]
