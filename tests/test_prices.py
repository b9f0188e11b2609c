"""Price tables, and what ``run --dry-run`` and ``plan`` say a grid costs before anything is
sent: tokens estimated at four characters a token, money only at the prices the user gave."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.models import Price, PricesError, load_prices
from valuecompass.prompts import load_prompts, render_grid

TABLE = """\
currency: EUR
models:
  gpt-4o-mini: {input: 1000, output: 5000, batch_discount: 0.5}
  other: {input: 1, output: 2}
"""


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def prices(tmp_path: Path) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(TABLE, encoding="utf-8")
    return path


def test_a_price_table_reads_per_million_prices_and_finds_a_spec_by_its_name(
    prices: Path,
) -> None:
    table = load_prices(prices)
    assert table.currency == "EUR" and set(table.models) == {"gpt-4o-mini", "other"}
    price = table.price("openai:gpt-4o-mini")
    assert price == Price(1000, 5000, 0.5)
    assert price.cost(2_000, 300) == pytest.approx(2 + 1.5)  # 2000 x 1000/1e6 + 300 x 5000/1e6
    assert price.cost(2_000, 300, batch=True) == pytest.approx(1.75)
    assert table.price("other").cost(1_000_000, 1_000_000, batch=True) == pytest.approx(3)
    with pytest.raises(PricesError, match=r"no price for model 'anthropic:claude'; it prices"):
        table.price("anthropic:claude")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models:\n  m:\n    input: 1\n    output: lots\n",
         r"line 4: models\.m\.output: Input should be a valid number"),
        ("models:\n  m: {input: 1, output: 2, batch_discount: 1.5}\n",
         r"line 2: models\.m\.batch_discount: Input should be less than 1"),
        ("models:\n  m: {input: -1, output: 2}\n", r"line 2: models\.m\.input: .*greater than"),
        ("models:\n  m: {input: 1, output: 2, cached: 3}\n", r"line 2: models\.m\.cached: Extra"),
        ("currency: USD\n", r"models: Field required"),
        ("models: [\n", r"line 2 is not valid YAML"),
    ],
)  # fmt: skip
def test_a_bad_price_table_is_one_line_naming_the_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PricesError, match=message) as caught:
        load_prices(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)
    code, out, err = _invoke("run", "--model", "mock", "--dry-run", "--prices", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1 and str(path) in err


def test_dry_run_prices_a_grid_by_hand(prices: Path) -> None:
    # item mode, one context, two variants, one item, two samples: four calls, each sending
    # its variant's text (four characters a token) and taking at most its 3 tokens back
    args = ["run", "--model", "openai:gpt-4o-mini", "--where", "country=india",
            "--where", "scenario=education", "--items", "honest", "--variants", "0,1",
            "--samples", "2", "--dry-run", "--prices", str(prices)]  # fmt: skip
    code, out, err = _invoke(*args)
    assert code == 0, err
    inst = load_instrument(None)
    rendered = [
        p
        for p in render_grid(inst, load_prompts(None, inst), [("India", "education")], "item")
        if p.values == ("honest",) and p.variant in (0, 1)
    ]
    assert len(rendered) == 2
    chars = sum(len(m["content"]) for p in rendered for m in p.messages())
    sent, back = 2 * chars / 4, 4 * 3
    assert f"tokens (estimated): about {round(sent)} in, {back} out over 4 calls" in out
    cost = sent * 1000 / 1e6 + back * 5000 / 1e6
    found = re.search(r"\): (\d+\.\d{4}) EUR; as a batch run (\d+\.\d{4}) EUR", out)
    assert found is not None, out
    assert float(found[1]) == pytest.approx(cost, abs=5e-5)
    assert float(found[2]) == pytest.approx(cost / 2, abs=5e-5)
    # without a table: tokens only, no money
    code, out, _ = _invoke(*args[:-2])
    assert code == 0 and "tokens (estimated)" in out and "cost" not in out and "EUR" not in out
    code, _, err = _invoke("run", "--model", "openai:gpt-4", "--dry-run", "--prices", str(prices))
    assert code == 2 and "no price for model 'openai:gpt-4'" in err


def test_plan_prices_input_and_output_tokens_apart(prices: Path, released: Path) -> None:
    llm = str(released / "llm_outputs" / "gpt-4o-mini")
    base = ["plan", "--humans", str(released), "--llm", llm, "--half-width", "0.05",
            "--resamples", "40", "--format", "json", "--prices", str(prices)]  # fmt: skip
    code, out, err = _invoke(*base, "--price-model", "openai:gpt-4o-mini")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    inst = load_instrument(None)
    contexts = [
        (c, s) for c in inst.axis("country").level_ids for s in inst.axis("scenario").level_ids
    ]
    rendered = render_grid(inst, load_prompts(None, inst), contexts, "all")
    sent = sum(len(p.system) + len(p.user) for p in rendered) / 4  # a sample of the grid
    answer = 12 * sum(len(p.values) for p in rendered)
    for r in rows:
        assert r["input_tokens"] == round(sent * r["samples_per_prompt"])
        assert r["output_tokens"] == answer * r["samples_per_prompt"]
        by_hand = r["input_tokens"] * 1000 / 1e6 + r["output_tokens"] * 5000 / 1e6
        assert r["token_cost"] == pytest.approx(by_hand)
        assert r["batch_token_cost"] == pytest.approx(by_hand / 2)
        assert r["total_cost"] == pytest.approx(by_hand)
    code, _, err = _invoke(*base)
    assert code == 2 and "prices 2 models; say which with --price-model" in err
    code, _, err = _invoke(*base, "--price-model", "other", "--price-per-1k-tokens", "1")
    assert code == 2 and "leave out --price-per-1k-tokens" in err
