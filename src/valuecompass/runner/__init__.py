"""The runner: a model over a grid of contexts, variants, values and samples; no answer lost."""

from valuecompass.runner._call import Outcome, backoff_delay, call_with_retries
from valuecompass.runner._config import (
    DEFAULT_MAX_TOKENS,
    RunConfig,
    cache_key,
    prompts_digest,
)
from valuecompass.runner._generate import (
    DEFAULT_ACTION_TOKENS,
    GenerateConfig,
    GenerateSummary,
    generate_actions,
)
from valuecompass.runner._plan import DryRun, Job, dry_run, plan
from valuecompass.runner._run import RunAborted, RunSummary, run_model

__all__ = [
    "DEFAULT_ACTION_TOKENS",
    "DEFAULT_MAX_TOKENS",
    "DryRun",
    "GenerateConfig",
    "GenerateSummary",
    "Job",
    "Outcome",
    "RunAborted",
    "RunConfig",
    "RunSummary",
    "backoff_delay",
    "cache_key",
    "call_with_retries",
    "dry_run",
    "generate_actions",
    "plan",
    "prompts_digest",
    "run_model",
]
