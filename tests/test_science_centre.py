"""Scale-use correction: person-centred scores, by hand, through align and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from _tidy import CTX, model, people
from valuecompass import align
from valuecompass.cli import main
from valuecompass.instrument import Instrument
from valuecompass.stats import centre_answers


def test_centre_answers_by_hand() -> None:
    # Person a: 1, 2, 3 (mean 2) → 1.5, 2.5, 3.5. Person b: 4, 4, - (mean 4) → 2.5, 2.5, -.
    h = people(
        [
            (*CTX, "equality", "a", 1.0),
            (*CTX, "freedom", "a", 2.0),
            (*CTX, "wealth", "a", 3.0),
            (*CTX, "equality", "b", 4.0),
            (*CTX, "freedom", "b", 4.0),
            (*CTX, "wealth", "b", None),
        ]
    )
    c = centre_answers(h)
    assert c["position"].tolist()[:5] == [1.5, 2.5, 3.5, 2.5, 2.5]
    assert np.isnan(c["position"].iloc[5])
    assert c["raw_position"].tolist()[:5] == [1.0, 2.0, 3.0, 4.0, 4.0]
    # Centring is idempotent.
    np.testing.assert_allclose(centre_answers(c)["position"], c["position"])


def test_model_centred_per_variant_and_sample() -> None:
    # Variant 0: 1, 3 (mean 2) → 1.5, 3.5; variant 1: 2, 4 (mean 3) → 1.5, 3.5.
    m = model([(*CTX, "equality", 0, 1.0), (*CTX, "freedom", 0, 3.0),
               (*CTX, "equality", 1, 2.0), (*CTX, "freedom", 1, 4.0)])  # fmt: skip
    assert centre_answers(m)["position"].tolist() == [1.5, 3.5, 1.5, 3.5]


def test_a_model_one_notch_lower_is_aligned_when_centred(form: Instrument) -> None:
    # People: equality 1, freedom 2, wealth 3 (one person). Model: 2, 3, 4: one notch lower
    # everywhere. Raw: labels people (0, 0, 1) [2 → 1/3 < .5 agree; 3 → 2/3 disagree], model
    # (0, 1, 1) → tp 1, fp 1, fn 0 → F1 = 2/3; distance 1/3 on every cell.
    # Centred: both become 1.5, 2.5, 3.5 → identical: F1 1, distance 0.
    vals = ("equality", "freedom", "wealth")
    h = people([(*CTX, v, "a", p) for v, p in zip(vals, (1.0, 2.0, 3.0), strict=True)])
    m = model([(*CTX, v, 0, p) for v, p in zip(vals, (2.0, 3.0, 4.0), strict=True)])
    raw = align(h, m, form).overall()
    assert raw["f1"] == pytest.approx(2 / 3)
    assert raw["distance"] == pytest.approx(1 / 3)
    centred = align(centre_answers(h), centre_answers(m), form).overall()
    assert centred["f1"] == pytest.approx(1.0)
    assert centred["distance"] == pytest.approx(0.0)


def test_centred_call_is_against_own_average(form: Instrument) -> None:
    # A person who strongly agrees with everything but wealth (1, 1, 2): mean 4/3. Centred
    # scores c = (p - 4/3)/3: -1/9, -1/9, +2/9. Raw, all three are "agree"; centred, wealth is
    # endorsed less than the person's average: "disagree". The model answers 1, 4, 4 (mean 3):
    # c = -2/3, 1/3, 1/3 → agree, disagree, disagree. Centred confusion (disagree positive):
    # equality tn, freedom fp, wealth tp → F1 = 2·1/(2·1 + 1 + 0) = 2/3.
    # Distances |c_m - c_h|: 5/9, 4/9, 1/9 → mean 10/27.
    vals = ("equality", "freedom", "wealth")
    h = people([(*CTX, v, "a", p) for v, p in zip(vals, (1.0, 1.0, 2.0), strict=True)])
    m = model([(*CTX, v, 0, p) for v, p in zip(vals, (1.0, 4.0, 4.0), strict=True)])
    a = align(centre_answers(h), centre_answers(m), form)
    cells = a.cells().set_index("value")
    assert cells.loc[list(vals), "human_label"].tolist() == [0, 0, 1]
    assert cells.loc["wealth", "human"] - 0.5 == pytest.approx(2 / 9)
    assert a.overall()["f1"] == pytest.approx(2 / 3)
    assert a.overall()["distance"] == pytest.approx(10 / 27)


def test_align_cli_states_centred_scores(released: Path) -> None:
    llm = released / "llm_outputs" / "gpt-4o-mini"
    runner = CliRunner()
    args = ["align", "--humans", str(released), "--llm", str(llm), "--format", "json"]
    raw = runner.invoke(main, args)
    centred = runner.invoke(main, [*args, "--centre"])
    assert raw.exit_code == 0 and centred.exit_code == 0, centred.output
    raw_overall = json.loads(raw.stdout)["overall"]
    overall = json.loads(centred.stdout)["overall"]
    assert overall["scores"] == "person-centred"
    assert "scores" not in raw_overall
    assert raw_overall["f1"] == pytest.approx(0.405, abs=0.0015)
    # Centring moves the headline: gpt-4o-mini's disagreements were partly a response style.
    assert overall["f1"] > raw_overall["f1"] + 0.1
    assert "person-centred" in centred.stderr


def test_profile_cli_centre(released: Path) -> None:
    llm = released / "llm_outputs" / "gemma2-9b-it"
    result = CliRunner().invoke(main, ["profile", "--llm", str(llm), "--centre"])
    assert result.exit_code == 0, result.output
    assert "person-centred" in result.stdout
