"""Prompt sensitivity, distributions, significance, irrelevance and the rigor CLI."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.spatial.distance import jensenshannon
from scipy.stats import false_discovery_control, wasserstein_distance

from _tidy import CTX, model, people
from valuecompass import align, load_prompts
from valuecompass.answers import Missing, parse_all
from valuecompass.cli import main
from valuecompass.instrument import Instrument, load_instrument
from valuecompass.stats import (
    SUPPORT,
    StatsError,
    benjamini_hochberg,
    compare_irrelevant,
    default_variant_factors,
    distribution_distances,
    irrelevant_rates,
    jensen_shannon,
    label_flips,
    load_irrelevant_option,
    offer_irrelevant,
    permutation_test,
    scaled_wasserstein,
    variance_shares,
    variant_factors,
    variant_scores,
    write_prompts,
)

MODEL = "gpt-4o-mini"


# --- prompt sensitivity -------------------------------------------------------------------


def test_default_factors_follow_the_prompt_design() -> None:
    factors = default_variant_factors()
    pd.testing.assert_frame_equal(factors, variant_factors(load_prompts(None, load_instrument())))
    assert factors.loc[[2, 3, 6, 7], "style"].eq("pvq").all()  # as in the released data
    # A 2^(4-1) design: every pair of factors crosses each level combination twice.
    for a, b in combinations(factors.columns, 2):
        assert factors.groupby([a, b]).size().tolist() == [2, 2, 2, 2], (a, b)


def _by_style(flip_value: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    # One context; answers depend only on style: SVS variants (0, 1, 4, 5) answer 1,
    # PVQ variants (2, 3, 6, 7) answer 3 for FLIP_VALUE and 1 otherwise; "wealth" always 2.
    rows = []
    for k in range(8):
        pvq = k in (2, 3, 6, 7)
        rows += [(*CTX, flip_value, k, 3.0 if pvq else 1.0), (*CTX, "wealth", k, 2.0)]
    h = people([(*CTX, v, "a", 1.0) for v in (flip_value, "wealth")])
    return h, model(rows)


def test_variance_shares_by_hand() -> None:
    # Cell "freedom": normalised answers 0 (SVS) and 2/3 (PVQ), 4 each; cell mean 1/3.
    # Total SS = 8·(1/3)² = 8/9; style SS = 4·(1/3)² + 4·(1/3)² = 8/9 → share 1. The other
    # factors split SVS and PVQ evenly in each level, so their level means equal the cell
    # mean: share 0. "wealth" never varies and adds nothing.
    _, m = _by_style("freedom")
    shares = variance_shares(m, default_variant_factors()).set_index("factor")["share"]
    assert shares["style"] == pytest.approx(1.0)
    assert shares[["framing", "requirement", "order"]].tolist() == pytest.approx([0, 0, 0])
    assert shares["other"] == pytest.approx(0.0)


def test_label_flips_and_variant_scores(form: Instrument) -> None:
    h, m = _by_style("freedom")
    a = align(h, m, form)
    flips = label_flips(a, m, default_variant_factors()).set_index("value")
    # freedom: SVS label agree (0), PVQ disagree (2/3 ≥ 0.5) → flips across variants and
    # across style levels, but not across framing levels (each level mean is 1/3: agree).
    assert flips.loc["freedom", "flip_rate"] == 1.0
    assert flips.loc["freedom", "style_flip_rate"] == 1.0
    assert flips.loc["freedom", "framing_flip_rate"] == 0.0
    assert flips.loc["wealth", "flip_rate"] == 0.0
    scores = variant_scores(a, m, default_variant_factors()).set_index("variant")
    # People at 1 (0). SVS variants agree with them exactly: distance 0 on both values
    # wealth (1/3 vs 0 → 1/3)... per variant: SVS (0 + 1/3)/2 = 1/6, PVQ (2/3 + 1/3)/2 = 1/2.
    assert scores.loc[0, "distance"] == pytest.approx(1 / 6)
    assert scores.loc[2, "distance"] == pytest.approx(1 / 2)
    assert scores.loc[2, "style"] == "pvq"


# --- distributions ------------------------------------------------------------------------


def test_distribution_distances_by_hand(form: Instrument) -> None:
    # People 1, 1, 2, 4 → p = (.5, .25, 0, 0, .25) on 1, 2, 2.5, 3, 4.
    # Model 1 and 3 → q = (.5, 0, 0, .5, 0).
    # CDFs: P = .5 .75 .75 .75 1; Q = .5 .5 .5 1 1; gaps 1 .5 .5 1.
    # W1 = 0·1 + .25·.5 + .25·.5 + .25·1 = .5 → scaled by the range 3: 1/6.
    h = people(
        [(*CTX, "equality", r, p) for r, p in zip("abcd", [1.0, 1.0, 2.0, 4.0], strict=True)]
    )
    m = model([(*CTX, "equality", k, p) for k, p in enumerate([1.0, 3.0])])
    cells = distribution_distances(align(h, m, form), h, m).cells.set_index("value")
    assert cells.loc["equality", "wasserstein"] == pytest.approx(1 / 6)
    p, q = [0.5, 0.25, 0, 0, 0.25], [0.5, 0, 0, 0.5, 0]
    assert cells.loc["equality", "jensen_shannon"] == pytest.approx(jensenshannon(p, q, base=2))
    assert cells.loc["equality", ["n_people", "n_model"]].tolist() == [4, 2]
    assert np.isnan(cells.loc["freedom", "wasserstein"])


def test_distances_match_scipy() -> None:
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(5), 200), rng.dirichlet(np.ones(5), 200)
    q[:50, 2] = 0.0  # the model never uses the neutral point
    w = scaled_wasserstein(p, q)
    js = jensen_shannon(p, q)
    for i in range(200):
        ref_w = wasserstein_distance(SUPPORT, SUPPORT, p[i], q[i]) / 3.0
        assert w[i] == pytest.approx(ref_w, abs=1e-12)
        assert js[i] == pytest.approx(jensenshannon(p[i], q[i], base=2), abs=1e-12)


def test_token_probabilities_replace_point_masses(form: Instrument) -> None:
    # One model answer at 1 but with probabilities {1: .5, 4: .5}: q = (.5, 0, 0, 0, .5).
    # People all at 4: p = (0, 0, 0, 0, 1). CDF gap .5 over 1→2, 2→2.5, 2.5→3, 3→4 = 3·.5 / 3.
    h = people([(*CTX, "equality", "a", 4.0)])
    m = model([(*CTX, "equality", 0, 1.0)])
    m["probs"] = [{1.0: 0.5, "4": 0.5}]
    cells = distribution_distances(align(h, m, form), h, m).cells.set_index("value")
    assert cells.loc["equality", "wasserstein"] == pytest.approx(0.5)


# --- significance -------------------------------------------------------------------------


def test_benjamini_hochberg_matches_scipy() -> None:
    p = np.random.default_rng(1).random(60) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"))
    # By hand: p = .01 .04 .03 → sorted .01 .03 .04 · 3/rank = .03 .045 .04 → monotone from
    # the top: .03 .04 .04.
    np.testing.assert_allclose(benjamini_hochberg(np.array([0.01, 0.04, 0.03])), [0.03, 0.04, 0.04])
    got = benjamini_hochberg(np.array([0.01, np.nan, 0.04]))
    assert np.isnan(got[1]) and got[0] == pytest.approx(0.02)


def test_permutation_test_by_hand_and_power(form: Instrument) -> None:
    # One person at 1, one model answer at 4: swapping the labels gives the same |1 - 4|, so
    # every permutation ties the observed distance: p = 1.
    h = people([(*CTX, "equality", "a", 1.0)])
    m = model([(*CTX, "equality", 0, 4.0)])
    result = permutation_test(align(h, m, form), h, m, permutations=50, seed=0)
    assert result.set_index("value").loc["equality", "p_value"] == 1.0
    # Many contexts, people at 1-2 and the model at 4 on freedom, both alike on equality.
    rng = np.random.default_rng(4)
    h_rows, m_rows = [], []
    for c in ("united_states", "india", "germany", "france"):
        for t in ("healthcare", "education"):
            for r in range(4):
                h_rows += [(c, t, "freedom", f"{c}{t}{r}", float(rng.choice([1, 2])))]
                h_rows += [(c, t, "equality", f"{c}{t}{r}", float(rng.choice([1, 2, 3])))]
            m_rows += [(c, t, "freedom", k, 4.0) for k in range(8)]
            m_rows += [(c, t, "equality", k, float(rng.choice([1, 2, 3]))) for k in range(8)]
    h, m = people(h_rows), model(m_rows)
    result = permutation_test(align(h, m, form), h, m, permutations=400, seed=1).set_index("value")
    assert result.loc["freedom", "p_value"] == pytest.approx(1 / 401)
    assert result.loc["freedom", "significant"]
    assert not result.loc["equality", "significant"]
    assert np.isnan(result.loc["wealth", "p_value"])  # no shared cell: left out


# --- irrelevant ---------------------------------------------------------------------------


def test_irrelevant_rates_by_hand() -> None:
    h = people(
        [(*CTX, "equality", r, p) for r, p in zip("abcd", [1.0, None, None, 2.0], strict=True)]
    )
    h.loc[1, "missing"] = "irrelevant"
    h.loc[2, "missing"] = "empty"  # answered nothing: not in the denominator
    rates = irrelevant_rates(h, ("value",)).set_index("value")
    assert rates.loc["equality"].tolist() == [1, 3, pytest.approx(1 / 3)]
    m = model([(*CTX, "equality", k, 1.0) for k in range(4)])
    both = compare_irrelevant(h, m).set_index("value")
    assert both.loc["equality", "model_rate"] == 0.0 and both.loc["equality", "model_n"] == 4


def test_offer_irrelevant_round_trips(tmp_path: Path, form: Instrument) -> None:
    base = load_prompts(None, load_instrument())
    offered = offer_irrelevant(base)
    sentence = load_irrelevant_option().all
    assert all(text.endswith(sentence) for text in offered.requirements.all.values())
    assert offered.variants == base.variants
    path = tmp_path / "prompts.yaml"
    write_prompts(offered, path)
    assert load_prompts(path, load_instrument()) == offered
    # The model's "irrelevant" is read as a missing answer with that reason, as for people.
    names = [form.item("equality").name, form.item("freedom").name]
    parsed = parse_all(json.dumps({names[0]: "irrelevant", names[1]: "2"}), form,
                        form.scale("agreement"))  # fmt: skip
    assert parsed.answers["equality"].missing is Missing.IRRELEVANT
    assert parsed.answers["freedom"].position == 2.0


def test_malformed_irrelevant_option_names_field_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("form: offer it\nitem: offer it\nextra: nope\n")
    with pytest.raises(StatsError, match=r"extra \(line 3\)"):
        load_irrelevant_option(bad)


# --- CLI ----------------------------------------------------------------------------------


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_align_ci_and_ceiling_json(released: Path) -> None:
    llm = str(released / "llm_outputs" / MODEL)
    code, out, err = _run(
        "align", "--humans", str(released), "--llm", llm, "--format", "json",
        "--ci", "0.9", "--resamples", "200", "--ceiling",
    )  # fmt: skip
    assert code == 0, err
    payload = json.loads(out)
    for row in [*payload["rows"], payload["overall"]]:
        for metric in ("f1", "distance"):
            assert row[f"{metric}_low"] <= row[metric] <= row[f"{metric}_high"]
            assert 0 <= row[f"ceiling_{metric}"] <= 1
            assert 0 <= row[f"model_half_{metric}"] <= 1
    assert {r["country"] for r in payload["rows"]} >= {"india", "germany"}


def test_align_ci_table_and_bad_level(released: Path) -> None:
    llm = str(released / "llm_outputs" / MODEL)
    code, out, _ = _run("align", "--humans", str(released), "--llm", llm, "--by", "topic",
                        "--ci", "0.95", "--resamples", "100")  # fmt: skip
    assert code == 0 and "[" in out and "healthcare" in out
    code, _, err = _run("align", "--humans", str(released), "--llm", llm, "--ci", "95")
    assert code == 2 and "--ci" in err


@pytest.mark.parametrize(
    ("args", "column"),
    [
        (["ceiling", "--by", "topic", "--splits", "20"], "ceiling_f1"),
        (["ranks", "--resamples", "100", "--top-k", "5"], "p_top_5"),
        (["sensitivity", "--view", "flips"], "style_flip_rate"),
        (["distributions", "--by", "country"], "jensen_shannon"),
        (["significance", "--permutations", "50"], "q_value"),
        (["irrelevant", "--by", "topic"], "people_rate"),
    ],
)
def test_rigor_commands(released: Path, args: list[str], column: str) -> None:
    llm = str(released / "llm_outputs" / MODEL)
    code, out, err = _run(
        "rigor", args[0], "--humans", str(released), "--llm", llm, "--format", "json", *args[1:]
    )
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert rows and column in rows[0]


def test_rigor_irrelevant_prompts_command(tmp_path: Path) -> None:
    out = tmp_path / "p.yaml"
    code, stdout, _ = _run("rigor", "irrelevant-prompts", str(out))
    assert code == 0 and "--prompts" in stdout
    assert "irrelevant" in load_prompts(out, load_instrument()).requirements.item["a"]


def test_model_offered_irrelevant_end_to_end(released: Path, tmp_path: Path) -> None:
    # A model that calls every value irrelevant, asked with the offering prompts: its answers
    # are stored as missing "irrelevant" and counted as such beside people's.
    prompts, db = tmp_path / "p.yaml", str(tmp_path / "runs.db")
    assert _run("rigor", "irrelevant-prompts", str(prompts))[0] == 0
    code, _, err = _run(
        "run", "--model", "mock:answer=irrelevant", "--prompts", str(prompts), "--mode", "item",
        "--countries", "india", "--topics", "healthcare", "--values", "equality", "--db", db,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = _run("rigor", "irrelevant", "--humans", str(released), "--llm", db,
                          "--by", "context", "--format", "json")  # fmt: skip
    assert code == 0, err
    rows = {(r["country"], r["scenario"]): r for r in json.loads(out)["rows"]}
    assert rows[("india", "healthcare")]["model_rate"] == 1.0
    assert rows[("india", "healthcare")]["people_rate"] > 0
