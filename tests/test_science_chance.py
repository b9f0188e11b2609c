"""Centring reported honestly: each F1's chance level and kappa, and people and model centred over
the same values (issue 24, item 2)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import cohen_kappa_score, f1_score

from _tidy import CTX, model, people
from valuecompass import align
from valuecompass import answers as ans
from valuecompass.cli import main
from valuecompass.instrument import Instrument, load_instrument
from valuecompass.metrics import binarise, confusion, confusion_metrics
from valuecompass.stats import centre_answers

ODD = Path(__file__).parent / "data" / "odd_instrument.yaml"

# One context of ten values: people disagree with the first four, the model with three of those
# and two more. tp 3, fp 2, fn 1, tn 4.
TRUTH = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
CALLS = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0]


def _planted(form: Instrument, truth: list[int], calls: list[int], ctx: tuple[str, str] = CTX):
    values = form.item_ids[: len(truth)]
    h = people([(*ctx, v, "a", 4.0 if t else 1.0) for v, t in zip(values, truth, strict=True)])
    m = model([(*ctx, v, 0, 4.0 if p else 1.0) for v, p in zip(values, calls, strict=True)])
    return h, m


def test_chance_f1_and_kappa_by_hand(form: Instrument) -> None:
    # F1 = 2·3 / (2·3 + 2 + 1) = 2/3. Chance: P = 4, Q = 5, n = 10: 2·4·5 / (10·9) = 4/9.
    # Corrected: (2/3 - 4/9) / (1 - 4/9) = (2/9) / (5/9) = 0.4. Kappa: observed 7/10,
    # expected (5·4 + 5·6) / 100 = 1/2, (0.7 - 0.5) / 0.5 = 0.4: the same number.
    h, m = _planted(form, TRUTH, CALLS)
    overall = align(h, m, form, chance=True).overall()
    assert overall["f1"] == pytest.approx(2 / 3)
    assert overall["f1_chance"] == pytest.approx(4 / 9)
    assert overall["f1_corrected"] == pytest.approx(0.4)
    assert overall["kappa"] == pytest.approx(0.4)
    assert overall["kappa"] == pytest.approx(cohen_kappa_score(TRUTH, CALLS))
    assert overall["f1"] == pytest.approx(f1_score(TRUTH, CALLS))
    # Without chance=True the tables keep their columns as before.
    assert "f1_chance" not in align(h, m, form).overall()


def test_chance_f1_is_the_exact_mean_over_every_shuffle(form: Instrument) -> None:
    # Every placement of the model's five disagree calls among the ten cells is equally likely
    # under a shuffle: scikit-learn's F1 averaged over all C(10, 5) = 252 is the expectation.
    placements = list(itertools.combinations(range(10), 5))
    f1s = [f1_score(TRUTH, [int(i in chosen) for i in range(10)]) for chosen in placements]
    kappas = [cohen_kappa_score(TRUTH, [int(i in c) for i in range(10)]) for c in placements]
    h, m = _planted(form, TRUTH, CALLS)
    overall = align(h, m, form, chance=True).overall()
    assert len(f1s) == 252
    assert overall["f1_chance"] == pytest.approx(float(np.mean(f1s)), abs=1e-12)
    assert float(np.mean(kappas)) == pytest.approx(0.0, abs=1e-12)  # kappa's chance is 0


def test_chance_f1_with_split_ties() -> None:
    # Split ties label a cell 0.5; the expectation over all 6! shuffles of the model's labels
    # is still 2·P·Q / (n·(P + Q)) with P, Q the label sums: P = 2.5, Q = 2, n = 6 → 10/27.
    truth = np.array([1.0, 1.0, 0.5, 0.0, 0.0, 0.0])
    calls = np.array([1.0, 0.5, 0.5, 0.0, 0.0, 0.0])
    shuffled = [
        confusion_metrics(confusion(truth, calls[list(order)]))["f1"]
        for order in itertools.permutations(range(6))
    ]
    got = confusion_metrics(confusion(truth, calls))["f1_chance"]
    assert float(got) == pytest.approx(2 * 2.5 * 2 / (6 * 4.5))
    assert float(got) == pytest.approx(float(np.mean(shuffled)), abs=1e-12)


def test_corrected_f1_edge_cases() -> None:
    agree = confusion(np.zeros(4), np.zeros(4))  # nobody disagrees: F1 0, chance 0, undefined
    assert float(confusion_metrics(agree)["f1_chance"]) == 0.0
    assert np.isnan(confusion_metrics(agree)["f1_corrected"])
    every = confusion(np.ones(4), np.ones(4))  # all disagree both sides: chance 1, undefined
    assert float(confusion_metrics(every)["f1_chance"]) == 1.0
    assert np.isnan(confusion_metrics(every)["f1_corrected"])
    none = confusion(np.full(3, np.nan), np.zeros(3))
    assert np.isnan(confusion_metrics(none)["f1_chance"])


def test_chance_per_context_then_averaged(form: Instrument) -> None:
    # A second context where the model calls all ten disagree: F1 = 8/14, chance 2·4·10 /
    # (10·14) = 4/7, corrected (4/7 - 4/7) / (3/7) = 0 (and kappa 0: the model says one thing).
    h1, m1 = _planted(form, TRUTH, CALLS)
    h2, m2 = _planted(form, TRUTH, [1] * 10, ("india", "healthcare"))
    a = align(pd.concat([h1, h2]), pd.concat([m1, m2]), form, chance=True)
    by_context = a.by("context").set_index("country")
    assert by_context.loc["india", "f1_chance"] == pytest.approx(4 / 7)
    assert by_context.loc["india", "f1_corrected"] == pytest.approx(0.0)
    overall = a.overall()
    assert overall["f1_chance"] == pytest.approx((4 / 9 + 4 / 7) / 2)
    assert overall["f1_corrected"] == pytest.approx((0.4 + 0.0) / 2)
    np.testing.assert_allclose(by_context["f1_corrected"], by_context["kappa"])
    columns = list(a.by("scenario").columns)
    assert columns[:4] == ["scenario", "f1", "f1_chance", "f1_corrected"]


def test_model_centred_over_the_values_people_rated() -> None:
    # Values equality, freedom, wealth, tradition. Respondent a rates the first three (mean 2),
    # b all four. The model's variant 0 answers 1, 2, 3, 4: its mean over a's values is 2, over
    # b's 2.5; their mean 2.25, so it is centred to p - 2.25 + 2.5. Variant 1 leaves freedom
    # out: 2, -, 4, 4: over a's values (equality, wealth) 3, over b's 10/3; mean 19/6.
    vals = ("equality", "freedom", "wealth", "tradition")
    a_rates, b_rates = (1.0, 2.0, 3.0, None), (2.0, 2.0, 3.0, 3.0)
    h = people([(*CTX, v, "a", p) for v, p in zip(vals, a_rates, strict=True)]
               + [(*CTX, v, "b", p) for v, p in zip(vals, b_rates, strict=True)])  # fmt: skip
    first_set, second_set = (1.0, 2.0, 3.0, 4.0), (2.0, None, 4.0, 4.0)
    m = model([(*CTX, v, 0, p) for v, p in zip(vals, first_set, strict=True)]
              + [(*CTX, v, 1, p) for v, p in zip(vals, second_set, strict=True)])  # fmt: skip
    centred = centre_answers(m, over=h)
    first = centred[centred["variant"] == 0]["position"].to_numpy()
    np.testing.assert_allclose(first, [1.25, 2.25, 3.25, 4.25])
    second = centred[centred["variant"] == 1]["position"].to_numpy()
    np.testing.assert_allclose(second[[0, 2, 3]], np.array([2.0, 4.0, 4.0]) - 19 / 6 + 2.5)
    assert np.isnan(second[1])
    # Without the people each prompt set is centred over all its own values, as before.
    np.testing.assert_allclose(
        centre_answers(m)[lambda d: d["variant"] == 0]["position"], [1.0, 2.0, 3.0, 4.0]
    )
    # Centring again over the same people changes nothing.
    np.testing.assert_allclose(centre_answers(centred, over=h)["position"], centred["position"])


def test_a_model_copying_a_person_is_aligned_only_over_the_same_values(
    form: Instrument,
) -> None:
    # A respondent rates three values (1, 2, 3; tradition N/A) and the model
    # copies them, answering the fourth with 4. Over its own four values the model's mean is
    # 2.5 against the person's 2, so its centred scores sit 0.5 higher: distance 0.5/3 per cell.
    # Over the person's three values both means are 2: identical scores, distance 0.
    vals = ("equality", "freedom", "wealth", "tradition")
    h = people([(*CTX, v, "a", p) for v, p in zip(vals, (1.0, 2.0, 3.0, None), strict=True)])
    m = model([(*CTX, v, 0, p) for v, p in zip(vals, (1.0, 2.0, 3.0, 4.0), strict=True)])
    before = align(centre_answers(h), centre_answers(m), form).overall()
    assert before["distance"] == pytest.approx(0.5 / 3)
    after = align(centre_answers(h), centre_answers(m, over=h), form).overall()
    assert after["distance"] == pytest.approx(0.0)
    assert after["f1"] == pytest.approx(1.0)


def test_odd_instrument_centred_over_shared_values_with_chance() -> None:
    # Three context axes, 7-point scales (people: agree last; the story wording: agree first).
    # Respondent r rates tidy 7, punctual 5, careful 3 (the rest skipped): mean 5. The model,
    # in the story wording, answers all nine 1, 3, 5, 7, ...: its mean over r's three is 3, so
    # centred 1 → 2, 3 → 4, 5 → 6 (midpoint 4). People centred: 7 → 6, 5 → 4, 3 → 2.
    odd = load_instrument(ODD)
    axes = [a.id for a in odd.context_axes]
    ctx = {"region": "north", "setting": "shop", "tone": "formal"}
    mine = dict(zip(odd.item_ids, (7.0, 5.0, 3.0), strict=False))
    h = ans.frame(
        [{"source": "humans", **ctx, "value": v, "respondent": "r", "position": mine.get(v)}
         for v in odd.item_ids], axes,
    )  # fmt: skip
    story = [1.0, 3.0, 5.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0]
    m = ans.frame(
        [{"source": "m", **ctx, "value": v, "variant": 0, "position": p}
         for v, p in zip(odd.item_ids, story, strict=True)], axes,
    ).assign(scale="likeness7")  # fmt: skip
    cm = centre_answers(m, odd, over=h)
    np.testing.assert_allclose(cm["position"].to_numpy()[:3], [2.0, 4.0, 6.0])
    ch = centre_answers(h, odd)
    np.testing.assert_allclose(ch["position"].to_numpy()[:3], [6.0, 4.0, 2.0])
    # People agree with tidy (more than average), are at their average on punctual, disagree
    # with careful; the model (agree first) agrees with tidy, is average on punctual (a tie:
    # disagree), disagrees with careful: labels (0, 1, 1) on both sides. F1 1, chance
    # 2·2·2 / (3·4) = 2/3, corrected 1; the distance 0.
    a = align(ch, cm, odd, chance=True)
    overall = a.overall()
    assert binarise(a.human.to_numpy()).tolist()[0][:3] == [0.0, 1.0, 1.0]
    assert overall["f1"] == pytest.approx(1.0)
    assert overall["f1_chance"] == pytest.approx(2 / 3)
    assert overall["f1_corrected"] == pytest.approx(1.0)
    assert overall["distance"] == pytest.approx(0.0)


def test_align_centre_reports_chance_on_the_released_data(released: Path) -> None:
    # Centring moves people's disagree share from 0.275 to 0.461, and with it the F1 chance
    # gives: deepseek's chance F1 0.343 raw, 0.485 centred; kappa (the corrected F1) moves
    # only from 0.307 to 0.415.
    llm = released / "llm_outputs" / "deepseek-r1-distill-llama-70b"
    args = ["align", "--humans", str(released), "--llm", str(llm), "--format", "json"]
    result = CliRunner().invoke(main, [*args, "--centre"])
    assert result.exit_code == 0, result.output
    overall = json.loads(result.stdout)["overall"]
    assert overall["f1"] == pytest.approx(0.697, abs=0.0015)
    assert overall["f1_chance"] == pytest.approx(0.485, abs=0.0015)
    assert overall["f1_corrected"] == pytest.approx(overall["kappa"])
    assert overall["kappa"] == pytest.approx(0.415, abs=0.0015)
    rows = json.loads(result.stdout)["rows"]
    assert {"f1_chance", "f1_corrected", "kappa"} <= set(rows[0])
    raw = json.loads(CliRunner().invoke(main, args).stdout)["overall"]
    assert "f1_chance" not in raw and raw["kappa"] == pytest.approx(0.307, abs=0.0015)


@pytest.mark.slow
def test_the_bundled_model_centred_over_people_values_with_chance(
    released: Path, tmp_path: Path, form: Instrument
) -> None:
    # SmolLM2 answers eight values in one context; centred over the released people's rated
    # values, its chance F1 is 2PQ/(n(P + Q)) of the labels and its corrected F1 its kappa.
    from valuecompass import align_sources

    db = tmp_path / "s.db"
    items = "honest,wealth,national_security,equality,freedom,ambitious,obedient,helpful"
    ran = CliRunner().invoke(main, [
        "run", "--model", "local", "-M", "threads=1", "--where", "country=india", "--where",
        "scenario=education", "--variants", "0", "--items", items, "--mode", "item",
        "--max-tokens", "2", "--no-progress", "--db", str(db), "--run", "smol",
    ])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    src = f"{db}#smol"
    result = align_sources(released, src, centre=True)
    a = result.alignment
    cells = a.cells().dropna(subset=["human", "model"])
    n = len(cells)
    assert n >= 4  # most of the eight answers parsed and met a people's cell
    p, q = cells["human_label"].sum(), cells["model_label"].sum()
    overall = a.overall()
    expected = 0.0 if p + q == 0 else 2 * p * q / (n * (p + q))
    assert overall["f1_chance"] == pytest.approx(expected)
    assert overall["f1_corrected"] == pytest.approx(overall["kappa"], nan_ok=True)
    # The prompt set's mean is taken over each Indian education respondent's rated values.
    raw = align_sources(released, src)
    assert raw.human_answers is not None and raw.model_answers is not None
    h, m = raw.human_answers, raw.model_answers
    h = h[(h["country"] == "india") & (h["scenario"] == "education")]
    own = m.set_index("value")["position"]
    means = [
        own.reindex(list(set(g.loc[g["position"].notna(), "value"]))).dropna().mean()
        for _, g in h.groupby("respondent")
    ]
    mid = float(np.mean([np.mean([s.positions[0], s.positions[-1]]) for s in form.rating_scales
                         if s.id == form.scale_for(form.wording_ids[0]).id]))  # fmt: skip
    assert result.model_answers is not None
    np.testing.assert_allclose(
        result.model_answers["position"].to_numpy(),
        m["position"].to_numpy() - np.nanmean(means) + mid,
    )
