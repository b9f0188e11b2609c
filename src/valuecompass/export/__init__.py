"""Results others can load: tables as Parquet, and runs, surveys and instruments as dataset
folders in Hugging Face's layout (Parquet files, a README.md dataset card with its ``configs:``
block, the instrument, the design and the manifest) that ``datasets.load_dataset`` reads."""

from valuecompass.export._datasets import (
    export_instrument,
    export_run,
    export_survey,
    instrument_dataset,
    run_dataset,
    survey_dataset,
)
from valuecompass.export._folder import MARK, Config, Dataset, earlier_export, write_dataset
from valuecompass.export._parquet import ExportError, arrow_table, write_parquet

__all__ = [
    "MARK",
    "Config",
    "Dataset",
    "ExportError",
    "arrow_table",
    "earlier_export",
    "export_instrument",
    "export_run",
    "export_survey",
    "instrument_dataset",
    "run_dataset",
    "survey_dataset",
    "write_dataset",
    "write_parquet",
]
