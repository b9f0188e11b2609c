"""Model and people's answers → scale positions or missing-with-reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuecompass.answers import Missing, extract_json_object, parse_all, parse_item, parse_option
from valuecompass.instrument import Instrument, legacy_view, load_instrument


@pytest.mark.parametrize(
    ("raw", "position"),
    [
        ("1", 1.0),
        (3, 3.0),
        ("2: agree", 2.0),
        ("4: strongly disagree", 4.0),
        ("strongly agree", 1.0),
        ("Agree", 2.0),
        ("like me", 2.0),  # portrait label in an agreement question: same position
        ("4: Not like me at all", 4.0),
        ("not like me", 3.0),
        (" 'disagree' ", 3.0),
    ],
)
def test_parse_option_agreement(form: Instrument, raw: object, position: float) -> None:
    got = parse_option(raw, form.scale("agreement"), (form.scale("portrait"),))
    assert got.position == position


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", Missing.EMPTY),
        ("N/A", Missing.IRRELEVANT),
        ("not applicable", Missing.IRRELEVANT),
        ("Somewhat like me", Missing.UNRECOGNISED),
        ("Indifferent", Missing.UNRECOGNISED),
        ("7", Missing.UNRECOGNISED),
        (
            "1: very much like me, 2: like me, 3: not like me, 4: Not like me at all",
            Missing.AMBIGUOUS,
        ),
    ],
)
def test_parse_option_missing(form: Instrument, raw: str, reason: Missing) -> None:
    got = parse_option(raw, form.scale("portrait"), (form.scale("agreement"),))
    assert got.position is None and got.missing is reason


def test_people_scale(form: Instrument) -> None:
    # the format 2 scale and its deprecated format-1 view parse alike
    for scale in (form.people_scale, legacy_view(form).scales.human):
        assert [parse_option(c, scale).position for c in ("2", "1", "0", "-1", "-2")] == [
            1,
            2,
            2.5,
            3,
            4,
        ]
        assert parse_option("N/A", scale).missing is Missing.IRRELEVANT


def _form_json(form: Instrument, option: str = "2") -> str:
    return json.dumps({item.name: option for item in form.items})


def test_parse_form_plain_json(form: Instrument) -> None:
    got = parse_all(_form_json(form), form, form.scale("agreement"))
    assert len(got.answers) == 56
    assert all(p.position == 2.0 for p in got.answers.values())


def test_parse_form_wrapped_in_fence_and_think(form: Instrument) -> None:
    text = (
        "<think>Let me weigh each value...{not json}</think>\nHere you go:\n```json\n"
        + _form_json(form, "3: disagree")
        + "\n```"
    )
    got = parse_all(text, form, form.scale("agreement"))
    assert all(p.position == 3.0 for p in got.answers.values())


def test_parse_form_truncated_salvages_pairs(form: Instrument) -> None:
    text = _form_json(form)[:200]  # cut mid-object
    got = parse_all(text, form, form.scale("agreement"))
    scored = [p for p in got.answers.values() if p.ok]
    assert 3 <= len(scored) < 56
    assert {p.missing for p in got.answers.values() if not p.ok} == {Missing.ABSENT}


def test_parse_form_error_and_garbage(form: Instrument) -> None:
    err = parse_all(
        "ERROR: RetryError[<Future raised APIConnectionError>]", form, form.scale("agreement")
    )
    assert {p.missing for p in err.answers.values()} == {Missing.ERROR}
    junk = parse_all("I cannot answer that.", form, form.scale("agreement"))
    assert {p.missing for p in junk.answers.values()} == {Missing.NO_JSON}
    empty = parse_all("  ", form, form.scale("agreement"))
    assert {p.missing for p in empty.answers.values()} == {Missing.EMPTY}


def test_parse_form_spellings_and_unknown_keys(form: Instrument) -> None:
    text = json.dumps(
        {
            "Preserving Human's Public Image": "1",
            "Honouring of Parents and Elders": "2",
            " Broad-Minded": "3",
            "_successful": "4",
            "Options": "1: strongly agree, 2: agree",
            "Privacy": "2",
        }
    )
    got = parse_all(text, form, form.scale("agreement"))
    assert got.answers["preserving_my_public_image"].position == 1
    assert got.answers["honoring_of_parents_and_elders"].position == 2
    assert got.answers["broad_minded"].position == 3
    assert got.answers["successful"].position == 4
    assert set(got.unknown_keys) == {"Options", "Privacy"}
    assert got.answers["equality"].missing is Missing.ABSENT


def test_extract_json_object_none_for_list() -> None:
    assert extract_json_object("[1, 2, 3]") is None


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("2", 2.0, None),
        ("Answer: 3", 3.0, None),
        ("<think>hmm, 1 or 4?</think>4", 4.0, None),
        ("I would say agree.", 2.0, None),
        ("I'd pick strongly disagree here", 4.0, None),
        ("1 or 3", None, Missing.AMBIGUOUS),
        ("banana", None, Missing.UNRECOGNISED),
        ("ERROR: timeout", None, Missing.ERROR),
    ],
)
def test_parse_item(
    form: Instrument, text: str, position: float | None, reason: Missing | None
) -> None:
    got = parse_item(text, form.scale("agreement"))
    assert got.position == position
    assert got.missing is reason


def test_options_come_from_any_instruments_scale() -> None:
    refined = load_instrument("schwartz_refined")
    likeness = refined.scale_for("pvq")  # six points, codes 1..6
    assert parse_item("6", likeness).position == 6.0
    assert parse_item("Answer: 5", likeness).code == "5"
    assert parse_item("7", likeness).missing is Missing.UNRECOGNISED  # not on this scale
    foundations = load_instrument("moral_foundations")
    describes = foundations.scale_for("describe")  # five points; the agree end is the last
    assert parse_item("5", describes).position == 5.0
    assert parse_option("Does not describe at all", describes).code == "1"
    # a form keyed by the items' names, on the five-point scale
    names = [i.name for i in foundations.items[:2]]
    form = parse_all(json.dumps({names[0]: "4", names[1]: "9"}), foundations, describes)
    got = [form.answers[i.id] for i in foundations.items[:2]]
    assert got[0].position == 4.0 and got[1].missing is Missing.UNRECOGNISED
    assert form.answers[foundations.items[2].id].missing is Missing.ABSENT


def test_parse_form_is_the_deprecated_name_of_parse_all() -> None:
    from valuecompass import answers as parsing

    assert parsing.parse_form is parsing.parse_all and parsing.FormParse is parsing.AllParse


ODD = Path(__file__).parent / "data" / "odd_instrument.yaml"


@pytest.mark.parametrize("path", [None, ODD])
def test_a_bare_code_reads_as_the_whole_parse_reads_it(path: Path | None) -> None:
    """An answer of just a code takes a short way; it reads exactly as the whole parse
    (wrappers, error text, labels) reads it, for every code and label of every scale."""
    from valuecompass.answers._parse import _parse_item, _view

    instrument = load_instrument(path)
    for scale in instrument.rating_scales:
        fallbacks = [s for s in instrument.rating_scales if s is not scale]
        others = tuple(_view(s) for s in fallbacks)
        view = _view(scale)
        answers = [*scale.codes, *(m.code for m in scale.missing), *(p.label for p in scale.points)]
        for text in [*answers, " 1", "1 ", "'2'", "<think>3</think>", "error 1"]:
            assert parse_item(text, scale, fallbacks) == _parse_item(text, view, others)
    agreement = load_instrument().scale("agreement")
    assert "2" in _view(agreement).bare and " 2" not in _view(agreement).bare
    assert parse_item("2", agreement).position == 2.0
    assert parse_item("2", agreement).raw == "2" and parse_item("2", agreement).code == "2"


@pytest.mark.parametrize(
    "probs",
    [
        {"1": 0.125, "2": 0.6249999999999998, "3": 0.125, "4": 0.125},
        {"4": 1e-05, "10": 0.99999, "-1": 0.0},
        {'a"b': 0.5, "é": 0.25, "x\\y": 0.25},
        {"1": float("nan"), "2": 1},
        {"2": 1, "1": 0},
    ],
)
def test_stored_probabilities_are_written_as_json_writes_them(probs: dict[str, float]) -> None:
    """The store's ``probs`` text is ``json.dumps(probs, sort_keys=True)``, char for char."""
    from valuecompass.runner._parse import probs_text

    assert probs_text(probs) == json.dumps(probs, sort_keys=True)


def test_a_python_literal_is_read_from_many_threads_at_once() -> None:
    """Replies written as Python dicts are read the same from eight threads at once (CPython
    3.11's literal reader is not safe to run in several threads together), and text that
    spells no literal reads as ``None``."""
    from concurrent.futures import ThreadPoolExecutor

    from valuecompass.answers import python_literal

    text = "{'action': 'Option 2', 'why': ('a', {'b': [1, 2.5, None]})}"
    want = {"action": "Option 2", "why": ("a", {"b": [1, 2.5, None]})}
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: python_literal(text), range(400)))
    assert all(g == want for g in got)
    assert python_literal("{'action': open('x')}") is None
    assert python_literal("{'unclosed': ") is None
    assert python_literal("[" * 10_000) is None
