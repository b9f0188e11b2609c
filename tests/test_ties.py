"""The tie rule (issue 24, item 4): a cell mean exactly on the threshold counted as disagree
(the paper's), agree, or half each; hand-computed on a planted table, checked against
scikit-learn, and the same in the bootstrap's pooled counts and on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import f1_score

from _tidy import CTX, model, people
from valuecompass import align
from valuecompass import metrics as al
from valuecompass.cli import main
from valuecompass.instrument import Instrument
from valuecompass.stats import bootstrap, human_ceiling
from valuecompass.stats._groups import Cells

NAN = np.nan
# Seven shared cells (the eighth has no model answer). People's first three and the model's
# third sit exactly on the threshold:
#   cell      1    2    3    4    5    6    7    8
#   people   .5   .5   .5   .8   .2   .9   .1   .5
#   model    .7   .2   .5   .6   .7   .1   .3   NaN
H = np.array([0.5, 0.5, 0.5, 0.8, 0.2, 0.9, 0.1, 0.5])
M = np.array([0.7, 0.2, 0.5, 0.6, 0.7, 0.1, 0.3, NAN])
# disagree: people 1111010, model 1011100 → tp 3 (1,3,4), fp 1 (5), fn 2 (2,6), tn 1 (7):
#   F1 = 6 / (6 + 1 + 2) = 2/3
# agree:    people 0001010, model 1001100 → tp 1 (4), fp 2 (1,5), fn 1 (6), tn 3 (2,3,7):
#   F1 = 2 / (2 + 2 + 1) = 0.4
# split:    people .5 .5 .5 1 0 1 0, model 1 0 .5 1 1 0 0 → tp = .5 + 0 + .25 + 1 = 1.75,
#   fp = .5 + 0 + .25 + 1 = 1.75, fn = 0 + .5 + .25 + 1 = 1.75, tn = .5 + .25 + 1 = 1.75:
#   F1 = 3.5 / 7 = 0.5
HAND = {"disagree": 2 / 3, "agree": 0.4, "split": 0.5}


@pytest.mark.parametrize("rule", al.TIE_RULES)
def test_each_rule_by_hand(rule: al.TieRule) -> None:
    got = al.rate_metrics(H, M, rule)
    assert got["f1"] == pytest.approx(HAND[rule])
    assert got["n"] == 7
    assert float(al.ties_share(H, M)) == pytest.approx(3 / 7)  # cells 1, 2, 3


def test_default_is_the_papers_disagree() -> None:
    assert al.rate_metrics(H, M)["f1"] == pytest.approx(HAND["disagree"])
    np.testing.assert_array_equal(al.binarise(np.array([0.5, 0.49, 0.51])), [1, 0, 1])
    np.testing.assert_array_equal(al.binarise(np.array([0.5, NAN]), "agree"), [0, NAN])
    np.testing.assert_array_equal(al.binarise(np.array([0.5, 1.0]), "split"), [0.5, 1])
    with pytest.raises(ValueError, match="unknown tie rule 'half'"):
        al.binarise(H, "half")  # type: ignore[arg-type]


@pytest.mark.parametrize("rule", ["disagree", "agree"])
def test_whole_rules_match_scikit_learn(rule: al.TieRule) -> None:
    both = ~np.isnan(M)
    t, p = al.binarise(H[both], rule), al.binarise(M[both], rule)
    assert al.rate_metrics(H, M, rule)["f1"] == pytest.approx(f1_score(t, p))


def test_split_matches_scikit_learn_with_weighted_copies() -> None:
    # A split cell is four weighted copies: each (truth, prediction) pair, weight the product
    # of the two sides' shares.
    both = ~np.isnan(M)
    t, p = al.binarise(H[both], "split"), al.binarise(M[both], "split")
    truth, pred, weight = [], [], []
    for ti, pi in zip(t, p, strict=True):
        for a in (0, 1):
            for b in (0, 1):
                truth.append(a)
                pred.append(b)
                weight.append((ti if a else 1 - ti) * (pi if b else 1 - pi))
    expected = f1_score(truth, pred, sample_weight=weight)
    assert al.rate_metrics(H, M, "split")["f1"] == pytest.approx(expected)


@pytest.mark.parametrize("rule", al.TIE_RULES)
def test_pooled_codes_give_the_same_rates(rule: al.TieRule) -> None:
    sums = Cells.of(H[None], M[None]).pool(-1)
    got = sums.metrics("cells", rule)
    want = al.rate_metrics(H, M, rule)
    for name in al.METRICS:
        assert got[name][0] == pytest.approx(want[name])


def _tied(form: Instrument) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two contexts, three values: people 1 and 4 (normalised mean exactly 0.5) on equality,
    2 and 3 on freedom (0.5 again), 1 and 2 on wealth (1/6); the model 3, 2, 4 (2/3, 1/3, 1)."""
    h_rows, m_rows = [], []
    for ctx in (CTX, ("india", "education")):
        for value, answers, asked in (("equality", (1, 4), 3), ("freedom", (2, 3), 2),
                                      ("wealth", (1, 2), 4)):  # fmt: skip
            h_rows += [(*ctx, value, f"{ctx[1]}{i}", float(x)) for i, x in enumerate(answers)]
            m_rows.append((*ctx, value, 0, float(asked)))
    return people(h_rows), model(m_rows)


@pytest.mark.parametrize("rule", al.TIE_RULES)
def test_alignment_and_bootstrap_follow_the_rule(form: Instrument, rule: al.TieRule) -> None:
    # Per context: people's labels (tie, tie, agree), the model's (disagree, agree, disagree).
    # disagree: tp 1, fn 1, fp 1 → F1 0.5; agree: tp 0 → F1 0; split: tp .5, fn .5, fp 1.5
    # → F1 1 / (1 + .5 + 1.5) = 1/3.
    h, m = _tied(form)
    a = align(h, m, form, ties=rule)
    expected = {"disagree": 0.5, "agree": 0.0, "split": 1 / 3}[rule]
    overall = a.overall()
    assert overall["f1"] == pytest.approx(expected)
    assert overall["ties_share"] == pytest.approx(2 / 3)
    assert a.by("context")["ties_share"].tolist() == pytest.approx([2 / 3, 2 / 3])
    by_value = a.by("value").set_index("value")["ties_share"]
    assert by_value[["equality", "freedom", "wealth"]].tolist() == [1.0, 1.0, 0.0]
    assert by_value.drop(["equality", "freedom", "wealth"]).isna().all()  # no shared cell
    boot = bootstrap(a, h, m, resamples=10, seed=0, groups=("overall", "value"), rank_groups=())
    assert boot.overall()["f1"] == pytest.approx(expected)
    np.testing.assert_allclose(
        boot.table("value")["f1"], a.by("value")["f1"].astype(float), equal_nan=True
    )
    # The ceiling's halves (one person each) never tie here, so the rule leaves it alone, but
    # the model's own rates follow it.
    ceiling = human_ceiling(a, h, splits=5, seed=0, groups=("overall",))
    assert ceiling.table("overall")["f1"].iloc[0] == pytest.approx(expected)


def _align_json(released: Path, *extra: str) -> dict[str, object]:
    llm = released / "llm_outputs" / "deepseek-r1-distill-llama-70b"
    out = CliRunner().invoke(
        main, ["align", "--humans", str(released), "--llm", str(llm), "--format", "json", *extra]
    )
    assert out.exit_code == 0, out.output
    payload: dict[str, object] = json.loads(out.stdout)
    return payload


def test_align_ties_on_the_released_data(released: Path) -> None:
    # The review's figures: deepseek's F1 0.529 under the paper's rule, 0.478 counting ties
    # as agree; 11% of the shared cells sit on the threshold.
    paper = _align_json(released)["overall"]
    agree = _align_json(released, "--ties", "agree")["overall"]
    split = _align_json(released, "--ties", "split")["overall"]
    assert isinstance(paper, dict) and isinstance(agree, dict) and isinstance(split, dict)
    assert paper["ties"] == "disagree" and agree["ties"] == "agree"
    assert paper["f1"] == pytest.approx(0.529, abs=0.0005)
    assert agree["f1"] == pytest.approx(0.478, abs=0.0005)
    assert agree["f1"] < split["f1"] < paper["f1"]
    assert paper["ties_share"] == agree["ties_share"] == pytest.approx(0.110, abs=0.0005)
    assert paper["distance"] == agree["distance"]  # the rule moves rates only


def test_rigor_commands_take_ties(released: Path) -> None:
    llm = released / "llm_outputs" / "gpt-4o-mini"
    args = ["rigor", "ceiling", "--humans", str(released), "--llm", str(llm), "--by",
            "overall", "--splits", "5", "--format", "json"]  # fmt: skip
    runs = {t: CliRunner().invoke(main, [*args, "--ties", t]) for t in ("disagree", "agree")}
    rows = {t: json.loads(r.stdout)["rows"][0] for t, r in runs.items()}
    assert rows["agree"]["f1"] < rows["disagree"]["f1"]
    bad = CliRunner().invoke(main, [*args, "--ties", "half"])
    assert bad.exit_code == 2 and "'half' is not one of" in bad.output
