"""The Value Form as data: values, scenarios, countries and rating scales."""

from valuecompass.instrument._load import InstrumentError, load_instrument
from valuecompass.instrument._models import (
    Country,
    Instrument,
    MotivationalType,
    Scale,
    ScaleOption,
    Scales,
    Scenario,
    UnknownNameError,
    Value,
)

__all__ = [
    "Country",
    "Instrument",
    "InstrumentError",
    "MotivationalType",
    "Scale",
    "ScaleOption",
    "Scales",
    "Scenario",
    "UnknownNameError",
    "Value",
    "load_instrument",
]
