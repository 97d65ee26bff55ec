"""A market forecaster is refused by the Ray engine before any Ray work, with a message saying why."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from finlite.errors import ConfigError
from finlite.runtime.ray_engine import score_file_ray


def test_a_forecaster_is_scored_locally_not_on_ray(forecast_dir: Path, prices: pd.DataFrame, tmp_path: Path) -> None:
    source = tmp_path / "prices.csv"
    prices.to_csv(source, index=False)
    with pytest.raises(ConfigError, match=r"market forecaster.*with the local engine") as info:
        score_file_ray(forecast_dir, source, tmp_path / "out.csv")
    assert info.value.param == "engine"
    assert not (tmp_path / "out.csv").exists()
