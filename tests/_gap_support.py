"""Where the value–action study's released files are: beside the project, or where the
workplace keeps them when the clone was made elsewhere. Read at run time, never copied."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GAP = REPO.parent / "shared" / "datasets" / "value-action-gap-2025"
if not GAP.is_dir():  # a clone made elsewhere: where the workplace keeps the data
    GAP = Path("/work/shared/datasets/value-action-gap-2025")
EVAL = GAP / "outputs" / "evaluation"
T1 = EVAL / "anthropic-claude-sonnet-4-20250514_t1.csv"
LOG = EVAL / "eval_log_20250628_154645.jsonl"
ACTIONS = GAP / "outputs" / "data_release" / "value_action_gap_full_data_generation.csv"
