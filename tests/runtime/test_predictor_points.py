"""A points scorecard's total, as a bank publishes it, from score, serve and the Predictor: exactly
the integer sum of its points (a walk-through, 2026-12-06: score and serve gave P(bad) only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import finlite
from finlite.cli import app
from finlite.errors import ConfigError
from finlite.runtime import Predictor
from finlite.runtime.predictor import points_of
from finlite.runtime.service import create_app


@pytest.fixture(scope="module")
def card(teacher_dir: Path, german_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("card") / "card"
    recipe = out.parent / "scorecard.yaml"
    recipe.write_text("name: scorecard\nsteps:\n  - {method: distillation, student: logistic}\n"
                      "  - {method: scorecard, base_points: 600, base_odds: 50, pdo: 20, bins: 10}\n")
    runner = CliRunner()
    made = runner.invoke(app, ["compress", str(teacher_dir), str(german_csv), "--recipe", str(recipe), "--out", str(out),
                               "--epochs", "5", "--no-timing", "-q"])
    assert made.exit_code in (0, 1), made.output  # 1: a gate of the recipe (none here)
    assert runner.invoke(app, ["export", str(out)]).exit_code in (0, 1)
    return out


def test_the_points_total_is_the_scorecards_integer_sum(card: Path, german: pd.DataFrame, german_csv: Path,
                                                        tmp_path: Path, exported_dir: Path) -> None:
    frame = german.drop(columns="creditability")
    art = finlite.load(card)
    x = torch.as_tensor(np.asarray(art.tabular.transform(frame, "german")), dtype=torch.float32)
    with torch.no_grad():
        exact = art.model.score(x).numpy().astype(np.int64)  # the points, summed as integers
    predictor = Predictor(card)
    assert np.array_equal(predictor.points(frame), exact)
    out = tmp_path / "scores.parquet"
    result = CliRunner().invoke(app, ["score", str(card), str(german_csv), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.schema.names[:3] == ["score", "decision", "points"]
    assert np.array_equal(table.column("points").to_numpy(), exact)
    client = TestClient(create_app(card))
    records = frame.head(3).to_dict("records")
    one = client.post("/predict", json=records[0]).json()
    assert one["points"] == int(exact[0])
    batch = client.post("/predict", json={"records": records}).json()
    assert [r["points"] for r in batch["results"]] == exact[:3].tolist()
    # Other models have no points: none in the output, and the Predictor says why.
    with pytest.raises(ConfigError, match="holds no points scorecard"):
        Predictor(exported_dir).points(frame.head(2))
    plain = Predictor(exported_dir)
    assert plain.points_scale is None
    # A score at 0 or 1 gives no total, not a wrong one.
    scale = predictor.points_scale
    assert scale is not None
    totals, lost = points_of(np.array([0.0, 1.0, 0.5]), scale)
    assert lost.tolist() == [True, True, False] and totals[:2].tolist() == [0, 0]


def test_a_total_float32_cannot_hold_is_null_never_a_wrong_whole_number() -> None:
    """Totals far from the base came back whole but wrong (950 as 947: a review, 2026-12-06):
    swept over 1,600 totals at 600 points / 50:1 / 20 to double, none given is wrong, and the
    usual range is given."""
    factor = np.float32(20 / np.log(2))
    offset = np.float32(600 - 20 / np.log(2) * np.log(50))
    totals = np.arange(-300, 1300)
    logit = (offset - totals.astype(np.float32)) / factor
    scores = (np.float32(1) / (np.float32(1) + np.exp(-logit))).astype(np.float32)
    got, lost = points_of(scores, (float(offset), float(factor)))
    assert not np.any(~lost & (got != totals))
    assert not lost[(totals >= 300) & (totals <= 850)].any()


def test_audit_refuses_a_first_link_that_is_not_text(tmp_path: Path) -> None:
    from finlite.runtime.audit import verify_audit_log

    path = tmp_path / "audit.jsonl"
    path.write_text('{"event":"prediction","time":"2026-12-06T19:00:00.000Z","prev_sha256":["x"]}\n')
    check = verify_audit_log([path])
    assert not check.intact and check.break_count == 1
