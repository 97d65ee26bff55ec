"""The synthetic portfolio generator: reproducible, calibrated, chunk-invariant, plausible, safe to write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from finlite import _paths
from finlite.cli import app
from finlite.datasets import synth_portfolio, write_portfolio
from finlite.datasets.synth import BLOCK_ROWS, HOME, PURPOSE, calibrate_intercept
from finlite.errors import ConfigError, DataError

CLI = "import sys; from finlite.cli import main; sys.argv = ['finlite', *sys.argv[1:]]; main()"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["datasets", "synth", *args])
    return result.exit_code, result.output


def test_same_seed_same_bytes_different_seed_different_rows(tmp_path: Path) -> None:
    paths = [tmp_path / name for name in ("a.parquet", "b.parquet", "c.parquet")]
    for path, seed in zip(paths, (7, 7, 8), strict=True):
        write_portfolio(path, 3000, seed=seed)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    a, c = pd.read_parquet(paths[0]), pd.read_parquet(paths[2])
    assert paths[0].read_bytes() != paths[2].read_bytes()
    assert not np.array_equal(a["annual_income"], c["annual_income"])
    assert a["loan_id"].tolist() == c["loan_id"].tolist() == list(range(1, 3001))


def test_chunking_threads_and_length_never_change_a_row(tmp_path: Path) -> None:
    rows = BLOCK_ROWS + 1500  # crosses a block boundary
    small, large = tmp_path / "small.parquet", tmp_path / "large.parquet"
    write_portfolio(small, rows, seed=3, chunk_rows=999, threads=1)
    write_portfolio(large, rows, seed=3, chunk_rows=40_000, threads=2)
    assert pq.read_metadata(small).num_row_groups > pq.read_metadata(large).num_row_groups
    a, b = pq.read_table(small), pq.read_table(large)
    assert a.equals(b)
    # Row i depends on the seed and i only: a short book is the start of a long one.
    head = synth_portfolio(1200, seed=3)
    pd.testing.assert_frame_equal(head, a.slice(0, 1200).to_pandas())
    tail = pq.read_table(small).slice(BLOCK_ROWS - 100, 200).to_pandas()
    assert tail["loan_id"].tolist() == list(range(BLOCK_ROWS - 99, BLOCK_ROWS + 101))


@pytest.mark.parametrize("target", [0.02, 0.05, 0.12])
def test_default_rate_hits_the_target(target: float) -> None:
    book = synth_portfolio(120_000, seed=11, default_rate=target, with_pd=True)
    # Binomial noise on 120,000 loans: sd = sqrt(p(1-p)/n) <= 0.001; the bisection is exact on
    # the calibration sample, so the mean PD is within sampling error of the target as well.
    sd = (target * (1 - target) / len(book)) ** 0.5
    assert abs(book["defaulted"].mean() - target) < 5 * sd
    assert abs(book["pd_true"].mean() - target) < 0.1 * target
    assert book["defaulted"].isin([0, 1]).all()


def test_the_intercept_depends_on_the_target_only() -> None:
    low, high = calibrate_intercept(0.02), calibrate_intercept(0.10)
    assert low < high
    assert calibrate_intercept(0.05) == calibrate_intercept(0.05)


def test_features_are_plausible_and_carry_the_risk() -> None:
    book = synth_portfolio(60_000, seed=5, with_pd=True)
    assert book["age"].between(18, 85).all() and book["credit_score"].between(300, 850).all()
    assert book["dti"].between(0, 60).all() and book["revol_util"].between(0, 1.5).all()
    assert book["loan_amount"].between(1000, 40000).all() and set(book["term_months"]) == {36, 60}
    assert (book["annual_income"] > 0).all() and 30_000 < book["annual_income"].median() < 90_000
    assert set(book["home_ownership"]) <= set(HOME) and set(book["purpose"]) <= set(PURPOSE)
    assert set(book["grade"]) == set("ABCDEFG")
    assert book["grade"].map("ABCDEFG".index).corr(book["interest_rate"]) > 0.8
    # One latent variable drives them: the riskier the features, the higher the true PD.
    pd_true = book["pd_true"]
    assert book["credit_score"].corr(pd_true, method="spearman") < -0.3
    assert book["revol_util"].corr(pd_true, method="spearman") > 0.3
    assert pd_true[book["revol_util"] > 0.8].mean() > 1.5 * pd_true[book["revol_util"] <= 0.8].mean()
    assert pd_true[book["term_months"] == 60].mean() > pd_true[book["term_months"] == 36].mean()


def test_a_logistic_regression_scores_about_0_78() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    book = synth_portfolio(80_000, seed=2)
    y = book.pop("defaulted").to_numpy()
    x = pd.get_dummies(book.drop(columns=["loan_id", "issue_month"]), columns=["home_ownership", "purpose", "grade"],
                       dtype=float)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x[:40_000], y[:40_000])
    auc = roc_auc_score(y[40_000:], model.predict_proba(x[40_000:])[:, 1])
    assert 0.74 < auc < 0.82


def test_trains_with_finlite(tmp_path: Path) -> None:
    from finlite.data.schema import infer_schema

    book = tmp_path / "book.parquet"
    write_portfolio(book, 2000, seed=1)
    schema = infer_schema(pd.read_parquet(book), "defaulted")
    assert schema.positive == "1" and {"loan_id", "issue_month"} <= set(schema.drop)
    assert set(schema.categorical) == {"home_ownership", "purpose", "grade"}


@pytest.mark.parametrize(("args", "message"), [
    (["--rows", "0"], "--rows must be a positive whole number"),
    (["--rows", "-5"], "--rows must be a positive whole number"),
    (["--rows", "100000000000"], "of at most 10,000,000,000; got 100000000000. Write a larger book in parts"),
    (["--rows", "10", "--seed", "-1"], "--seed must be a whole number from 0 to 4294967295"),
    (["--rows", "10", "--seed", str(2**32)], "--seed must be a whole number from 0 to 4294967295"),
    (["--rows", "10", "--default-rate", "0"], "--default-rate must be a finite number"),
    (["--rows", "10", "--default-rate", "0.7"], "--default-rate must be a finite number"),
    (["--rows", "10", "--chunk-rows", "0"], "--chunk-rows must be a positive whole number"),
])
def test_cli_refuses_bad_options(args: list[str], message: str, tmp_path: Path) -> None:
    out = tmp_path / "book.parquet"
    code, output = invoke(*args, "-o", str(out))
    assert code == 2 and message in output and "Traceback" not in output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_refuses_outputs_it_must_not_write(tmp_path: Path) -> None:
    existing = tmp_path / "book.parquet"
    existing.write_text("keep me")
    code, output = invoke("--rows", "10", "-o", str(existing))
    assert code == 2 and "already exists; choose another path or pass --force" in output
    assert existing.read_text() == "keep me"
    code, output = invoke("--rows", "10", "-o", str(tmp_path))
    assert code == 2 and "unknown file type" in output
    folder = tmp_path / "dir.parquet"
    folder.mkdir()
    code, output = invoke("--rows", "10", "-o", str(folder))
    assert code == 2 and "is a folder" in output
    code, output = invoke("--rows", "10", "-o", str(tmp_path / "book.xlsx"))
    assert code == 2 and "must end in .parquet" in output
    code, output = invoke("--rows", "10", "-o", "")  # an empty -o: no file named (it spoke of a file type of ".")
    assert code == 2 and "names no file" in output
    code, output = invoke("--rows", "50", "--seed", "4", "-o", str(existing), "--force")
    assert code == 0 and "wrote 50 loans" in output
    assert len(pd.read_parquet(existing)) == 50


def test_api_errors_are_finlite_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'rows' parameter must be a positive whole number"):
        write_portfolio(tmp_path / "a.parquet", 0)
    with pytest.raises(DataError, match="unknown file type"):
        write_portfolio(tmp_path / "a.json", 10)
    with pytest.raises(ConfigError, match="'seed' parameter"):
        synth_portfolio(10, seed=-3)


def test_a_failed_write_leaves_no_folder_it_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The folders made for -o stayed after a refusal (a review, 2026-12-04); score removed its own.
    monkeypatch.setattr("finlite.datasets.synth._free_disk", lambda folder: 1000)
    out = tmp_path / "new" / "deeper" / "book.parquet"
    with pytest.raises(ConfigError, match=r"A book of 5,000 rows needs about .* is free there"):
        write_portfolio(out, 5000)
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()
    with pytest.raises(ConfigError, match="is free there"):
        write_portfolio(tmp_path / "kept" / "book.parquet", 5000)
    assert (tmp_path / "kept").is_dir()  # a folder that was there before stays


def test_csv_output_has_the_same_rows(tmp_path: Path) -> None:
    csv, parquet = tmp_path / "book.csv", tmp_path / "book.parquet"
    write_portfolio(csv, 500, seed=9)
    write_portfolio(parquet, 500, seed=9)
    a, b = pd.read_csv(csv), pd.read_parquet(parquet)
    assert a["grade"].tolist() == b["grade"].tolist()
    np.testing.assert_allclose(a["annual_income"], b["annual_income"])


@pytest.mark.slow  # two interpreters start
def test_a_killed_write_leaves_no_output_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    out = tmp_path / "book.parquet"
    args = ["datasets", "synth", "--rows", "3000", "--chunk-rows", "1000", "-o", str(out), "-q"]
    run = subprocess.run([sys.executable, "-c", CLI, *args], env={**os.environ, _paths.KILL_ENV: "synth-writing"},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert not out.exists()
    [leftover] = [p.name for p in tmp_path.iterdir()]
    assert leftover.startswith(".book.parquet.") and leftover.endswith(".tmp")
    run = subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["book.parquet"] and len(pd.read_parquet(out)) == 3000


def test_the_true_pd_is_never_a_feature_unless_asked(tmp_path: Path) -> None:
    """Training on `synth --with-pd` output used pd_true, the answer, as a feature without a word."""
    import pandas as pd

    from finlite.data.schema import infer_schema
    from finlite.datasets.synth import write_portfolio

    write_portfolio(tmp_path / "book.parquet", 2000, seed=1, with_pd=True)
    frame = pd.read_parquet(tmp_path / "book.parquet")
    schema = infer_schema(frame, "defaulted")
    assert "pd_true" in schema.drop and "pd_true" not in schema.numeric
    assert any("'pd_true' dropped: it is the true probability of default" in n for n in schema.notes)
    assert "pd_true" in infer_schema(frame, "defaulted", numeric=["pd_true"]).numeric  # asked for: kept
