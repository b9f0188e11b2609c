"""Bundling an instrument is adding its YAML file: the registry is read from the data folder."""

from __future__ import annotations

from importlib import resources

import pytest

from valuecompass.instrument import _load as loading
from valuecompass.instrument import bundled_ids, load_instrument


def test_every_instrument_file_in_the_package_is_bundled_under_its_id() -> None:
    data = resources.files("valuecompass.instrument").joinpath("data")
    files = {f.name.removesuffix(".yaml") for f in data.iterdir() if f.name.endswith(".yaml")}
    assert set(bundled_ids()) == files
    assert bundled_ids()[0] == "value_form"  # the default first, then by id
    assert bundled_ids()[1:] == sorted(bundled_ids()[1:])
    for inst_id in bundled_ids():
        assert load_instrument(inst_id).id == inst_id


def test_a_bundled_file_whose_id_differs_from_its_name_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loading._bundled.cache_clear()
    monkeypatch.setitem(loading.BUNDLED, "renamed", "moral_foundations.yaml")
    try:
        with pytest.raises(loading.InstrumentError, match="its id is 'moral_foundations'"):
            load_instrument("renamed")
    finally:
        loading._bundled.cache_clear()
