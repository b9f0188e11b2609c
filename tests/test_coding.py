"""Coding open-ended answers: the codebook, model and hand coding, counts and kappa."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import cohen_kappa_score

from valuecompass.cli import main
from valuecompass.coding import (
    CodingError,
    backend_coder,
    code_answers,
    coder_agreement,
    cohen_kappa,
    import_codes,
    load_codebook,
    parse_codes,
    read_answers,
    theme_counts,
)
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument
from valuecompass.models.mock import MockBackend

PAPER_THEMES = [
    "Human oversight",
    "Objectivity",
    "Avoiding harm",
    "Transparency",
    "Fairness and bias",
    "Privacy and security",
    "Accountability",
    "Accuracy",
    "Trustworthiness",
    "Helpfulness",
]


def test_default_codebook_holds_the_papers_themes() -> None:
    book = load_codebook()
    assert [t.name for t in book.themes] == PAPER_THEMES
    assert all(t.description and t.examples for t in book.themes)
    prompt = book.prompt("Humans must decide.", "What should AI uphold?", "healthcare")
    assert "Humans must decide." in prompt and "- fairness_bias: Fairness and bias." in prompt


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("themes:\n  - id: x\n    name: X\n    description: d\n    colour: red\n", r"colour"),
        ("name: b\ninstructions: '{answer}'\nthemes: []\n", r"themes \(line 3\)"),
        (
            "name: b\ninstructions: '{answer} {themes}'\nthemes:\n"
            "  - {id: a, name: A, description: d}\n  - {id: a, name: B, description: d}\n",
            r"theme ids repeat: a",
        ),
        (
            "name: b\ninstructions: '{answer} {themes} {mood}'\n"
            "themes:\n  - {id: a, name: A, description: d}\n",
            r"unknown placeholder.*mood",
        ),
        ("name: b\ninstructions: x\nthemes:\n  - {id: A!, name: A, description: d}\n",
         r"themes.0.id \(line 4\)"),
    ],
)  # fmt: skip
def test_malformed_codebook_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "book.yaml"
    path.write_text(text)
    with pytest.raises(CodingError, match=expected):
        load_codebook(path)


@pytest.mark.parametrize(
    ("reply", "themes", "missing"),
    [
        ('["fairness_bias", "human_oversight"]', "human_oversight;fairness_bias", ""),
        ('{"themes": ["Accuracy"]}', "accuracy", ""),
        ('```json\n["privacy_security"]\n```', "privacy_security", ""),
        ('<think>maybe transparency?</think>\n["transparency"]', "transparency", ""),
        ('Sure! The themes are ["helpfulness"].', "helpfulness", ""),
        ("[]", "", ""),
        ('["kindness"]', "", "unknown theme(s): kindness"),
        ("human oversight", "", "no JSON list"),
        ("", "", "empty reply"),
    ],
)
def test_parse_codes(reply: str, themes: str, missing: str) -> None:
    got_themes, got_missing = parse_codes(reply, load_codebook())
    assert got_themes == themes
    assert got_missing.startswith(missing) and bool(got_missing) == bool(missing)


ANSWERS = pd.DataFrame(
    {
        "respondent": ["p1", "p2", "p3", "p4"],
        "scenario": ["healthcare", "healthcare", "education", "education"],
        "question": ["uphold"] * 4,
        "text": [
            "A doctor must make the final call, and it must be fair.",
            "It should be fair to everyone.",
            "",
            "BREAK",
        ],
    }
)


def _keyword_coder(prompt: str) -> str:
    answer = prompt.split("Answer: ", 1)[1].split("\n", 1)[0]
    if answer == "BREAK":
        raise ValueCompassError("backend down")
    found = []
    if "doctor" in answer:
        found.append("human_oversight")
    if "fair" in answer:
        found.append("fairness_bias")
    return json.dumps(found)


def test_code_answers_with_a_callable() -> None:
    codes = code_answers(ANSWERS, load_codebook(), _keyword_coder, "kw").set_index("respondent")
    assert codes.loc["p1", "themes"] == "human_oversight;fairness_bias"
    assert codes.loc["p2", "themes"] == "fairness_bias"
    assert codes.loc["p3", ["themes", "missing"]].tolist() == ["", ""]  # nothing to code
    assert codes.loc["p4", "missing"] == "error: backend down"
    assert set(codes["coder"]) == {"kw"}


def test_backend_coder_wraps_a_model_backend() -> None:
    backend = MockBackend(script=lambda request: '["accuracy"]')
    coder = backend_coder(backend)
    assert coder("prompt") == '["accuracy"]'
    codes = code_answers(ANSWERS.iloc[:1], load_codebook(), coder, "mock")
    assert codes["themes"].tolist() == ["accuracy"] and backend.calls == 2


def test_cohen_kappa_by_hand_and_against_sklearn() -> None:
    # 10 items. Coder A: 1 1 1 1 0 0 0 0 0 0; coder B: 1 1 1 0 0 0 0 0 0 1.
    # Observed agreement 8/10. Shares: A yes .4, B yes .4 → expected .4·.4 + .6·.6 = .52.
    # kappa = (.8 - .52) / (1 - .52) = .28/.48 = 7/12.
    a = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    b = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 1])
    assert cohen_kappa(a, b) == pytest.approx(7 / 12)
    rng = np.random.default_rng(0)
    for _ in range(50):
        x = rng.integers(0, 3, 40)
        y = np.where(rng.random(40) < 0.6, x, rng.integers(0, 3, 40))
        assert cohen_kappa(x, y) == pytest.approx(cohen_kappa_score(x, y))
    labels = np.array(["fair", "oversight", "fair", "none"])
    assert cohen_kappa(labels, labels[::-1]) == pytest.approx(
        cohen_kappa_score(labels, labels[::-1])
    )
    assert np.isnan(cohen_kappa(np.zeros(5), np.zeros(5)))  # one label throughout


def _write(path: Path, rows: list[list[str]]) -> Path:
    pd.DataFrame(rows[1:], columns=rows[0]).to_csv(path, index=False)
    return path


def test_import_codes_checks_themes_and_topics(tmp_path: Path, form: Instrument) -> None:
    book = load_codebook()
    header = ["respondent", "topic", "question", "themes"]  # ``topic``: the deprecated alias
    good = _write(
        tmp_path / "a.csv",
        [header, ["p1", "Healthcare", "uphold", "Fairness and bias; human_oversight"],
         ["p2", "healthcare", "uphold", ""]],
    )  # fmt: skip
    codes = import_codes(good, "ann", book, form)
    assert codes["themes"].tolist() == ["human_oversight;fairness_bias", ""]
    assert codes["scenario"].tolist() == ["healthcare", "healthcare"]
    assert "topic" not in codes.columns
    bad = _write(tmp_path / "b.csv", [header, ["p1", "healthcare", "q", "kindness"]])
    with pytest.raises(CodingError, match=r"b.csv line 2: unknown theme 'kindness'"):
        import_codes(bad, "ann", book, form)
    row = ["p1", "healthcare", "q", ""]
    twice = _write(tmp_path / "c.csv", [header, row, row])
    with pytest.raises(CodingError, match="line 3: this answer is coded twice"):
        import_codes(twice, "ann", book, form)
    planet = _write(tmp_path / "d.csv", [header, ["p1", "mars", "q", ""]])
    with pytest.raises(CodingError, match=r"d.csv line 2, column 'topic'"):
        import_codes(planet, "ann", book, form)
    with pytest.raises(CodingError, match="missing column"):
        read_answers(good)


def _two_coders() -> pd.DataFrame:
    rows = [
        # respondent, scenario, coder, themes
        ("p1", "healthcare", "ann", "human_oversight;fairness_bias"),
        ("p2", "healthcare", "ann", "fairness_bias"),
        ("p3", "education", "ann", "accuracy"),
        ("p1", "healthcare", "bob", "human_oversight"),
        ("p2", "healthcare", "bob", "fairness_bias"),
        ("p3", "education", "bob", ""),
    ]
    return pd.DataFrame(
        [
            {"respondent": r, "scenario": t, "question": "uphold", "coder": c, "themes": th,
             "missing": ""}
            for r, t, c, th in rows
        ]
    )  # fmt: skip


def test_theme_counts_per_scenario() -> None:
    book = load_codebook()
    codes = _two_coders()
    # p1 answers a second question, again with fairness: still one respondent.
    extra = codes.iloc[[0]].assign(question="other", themes="fairness_bias")
    counts = theme_counts(pd.concat([codes, extra]), book, "ann").set_index("theme")
    assert counts.loc["fairness_bias", ["healthcare", "all"]].tolist() == [2, 2]
    assert counts.loc["accuracy", ["healthcare", "education", "all"]].tolist() == [0, 1, 1]
    assert counts.loc["coded", "all"] == 3
    with pytest.raises(CodingError, match="name the coder"):
        theme_counts(codes, book)


def test_coder_agreement_per_theme() -> None:
    book = load_codebook()
    table = coder_agreement(_two_coders(), book, "ann", "bob").set_index("theme")
    # fairness: ann 0 1 1... per answer (p1, p2, p3): ann 1 1 0, bob 0 1 0.
    ann, bob = [1, 1, 0], [0, 1, 0]
    assert table.loc["fairness_bias", "kappa"] == pytest.approx(cohen_kappa_score(ann, bob))
    assert table.loc["human_oversight", "kappa"] == pytest.approx(1.0)
    assert np.isnan(table.loc["privacy_security", "kappa"])  # neither coder used it
    assert table.loc["fairness_bias", ["first", "second", "n"]].tolist() == [2, 1, 3]
    assert table.loc["all", "n"] == 30


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_code_cli_import_counts_agreement_run(tmp_path: Path) -> None:
    header = ["respondent", "scenario", "question", "themes"]
    ann = _write(tmp_path / "ann.csv", [header, ["p1", "healthcare", "q", "accuracy"],
                                       ["p2", "education", "q", "fairness_bias"]])  # fmt: skip
    bob = _write(tmp_path / "bob.csv", [header, ["p1", "healthcare", "q", "accuracy"],
                                       ["p2", "education", "q", ""]])  # fmt: skip
    codes = str(tmp_path / "codes.csv")
    for coder, file in (("ann", ann), ("bob", bob)):
        code, out, err = _run("code", "import", str(file), "--coder", coder, "--codes", codes)
        assert code == 0, err
    code, out, _ = _run("code", "counts", "--coder", "ann", "--codes", codes, "--format", "json")
    rows = {r["theme"]: r for r in json.loads(out)["rows"]}
    assert code == 0 and rows["accuracy"]["healthcare"] == 1 and rows["coded"]["all"] == 2
    code, out, _ = _run("code", "agreement", "--coders", "ann", "bob", "--codes", codes,
                        "--format", "json")  # fmt: skip
    rows = {r["theme"]: r for r in json.loads(out)["rows"]}
    assert code == 0 and rows["accuracy"]["kappa"] == 1.0 and rows["all"]["n"] == 20
    answers = tmp_path / "answers.csv"
    ANSWERS.to_csv(answers, index=False)
    code, out, err = _run("code", "run", "--answers", str(answers), "--model", "mock",
                          "--codes", codes)  # fmt: skip
    assert code == 0, err
    # The mock answers an option code, not a JSON list: kept as missing, with the reason.
    assert "4 answer(s) coded, 3 missing" in out
    table = pd.read_csv(codes, keep_default_na=False)
    assert set(table["coder"]) == {"ann", "bob", "mock"}
    assert table.loc[table["coder"] == "mock", "missing"].str.contains("no JSON|empty").sum() == 3
    code, _, err = _run("code", "counts", "--codes", str(tmp_path / "none.csv"))
    assert code == 2 and "no codes file" in err
    code, _, err = _run("code", "import", str(ann), "--coder", "x", "--codes", codes,
                        "--codebook", str(tmp_path / "nope.yaml"))  # fmt: skip
    assert code == 2 and "cannot read codebook" in err
