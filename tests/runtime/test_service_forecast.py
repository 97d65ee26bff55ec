"""The service with a market forecaster: POST /predict with a history window returns the forecast for
its last date; bad or over-long histories are refused (422 / 413); the OpenAPI page describes it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from finlite.errors import DataError
from finlite.runtime import Predictor
from finlite.runtime.service import AuditLog, create_app, history_limit
from tests.conftest import make_prices

TOKEN = "t0ken-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WARMUP = 30  # 21 rows of feature look-back + a window of 10 - 1 (tests/conftest.py builds window 10)


def _history(frame: pd.DataFrame) -> dict[str, list]:
    return {str(k): list(v) for k, v in frame.to_dict("list").items()}


@pytest.fixture(scope="module")
def older_forecast_dir(forecast_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The forecaster as saved before 2026-12-06: no training range in its preprocessor.json, so
    a jump far beyond the training data is forecast (with a note), not refused."""
    from tests.test_artifact_trust import rehash

    older = tmp_path_factory.mktemp("older") / "forecast"
    shutil.copytree(forecast_dir, older)
    pre = json.loads((older / "preprocessor.json").read_text())
    del pre["low"], pre["high"]
    (older / "preprocessor.json").write_text(json.dumps(pre))
    rehash(older)
    return older


@pytest.fixture()
def forecast_client(forecast_dir: Path, tmp_path: Path) -> TestClient:
    audit = AuditLog(tmp_path / "audit.jsonl")
    return TestClient(create_app(forecast_dir, token=TOKEN, audit=audit))


def test_service_forecasts_from_a_history(forecast_client: TestClient, forecast_dir: Path, prices: pd.DataFrame,
                                          tmp_path: Path) -> None:
    tail = prices.tail(WARMUP + 5)
    expected = Predictor(forecast_dir).forecast(_history(tail))
    columns = forecast_client.post("/predict", json={"history": _history(tail)}, headers={**AUTH, "X-Request-ID": "f1"})
    assert columns.status_code == 200 and columns.headers["x-request-id"] == "f1"
    body = columns.json()
    assert body["date"] == prices["date"].iloc[-1] and body["forecast"] == pytest.approx(expected["forecast"])
    assert body["cutoff"] is None and body["model_sha256"] == Predictor(forecast_dir).model_sha256
    rows = forecast_client.post("/predict", json={"history": tail.to_dict("records")}, headers=AUTH).json()
    assert rows["forecast"] == pytest.approx(expected["forecast"]) and rows["last_price"] == expected["last_price"]
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert lines[0]["request_id"] == "f1" and lines[0]["rows"] == WARMUP + 5
    assert lines[0]["forecast"] == pytest.approx(expected["forecast"]) and "history" not in lines[0]
    # Which approved artifact decided, and at which cut-off: the graph's hash alone is shared by
    # artifacts of one model at other cut-offs (a validator's review, 2026-12-04).
    assert lines[0]["manifest_sha256"] == Predictor(forecast_dir).manifest["manifest_sha256"]
    assert "cutoff" in lines[0] and lines[0]["cutoff"] is None


def test_service_refuses_bad_or_long_histories(forecast_client: TestClient, prices: pd.DataFrame) -> None:
    history = _history(prices.tail(WARMUP + 1))
    missing = forecast_client.post("/predict", json={"history": {"date": history["date"]}}, headers=AUTH)
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "history", "close"]
    uneven = forecast_client.post("/predict", json={"history": {**history, "volume": history["volume"][:-1]}},
                                  headers=AUTH)
    assert uneven.status_code == 422 and "'volume' holds 30 values" in uneven.json()["detail"][0]["msg"]
    text = forecast_client.post("/predict", json={"history": {**history, "close": [*history["close"][:-1], "x"]}},
                                headers=AUTH)
    assert text.status_code == 422 and "'close'" in text.json()["detail"][0]["msg"]
    assert "2021-02-23" in text.json()["detail"][0]["msg"]
    row = forecast_client.post("/predict", json={"history": [{"date": "2021-01-04"}]}, headers=AUTH)
    assert row.status_code == 422 and row.json()["detail"][0]["loc"] == ["body", "history", 0, "close"]
    assert row.json()["detail"][0]["msg"].startswith("row 1 has no 'close' value")  # rows counted from 1, as values'
    short = forecast_client.post("/predict", json={"history": _history(prices.tail(WARMUP))}, headers=AUTH)
    message = short.json()["detail"][0]["msg"]  # the client cannot change the window (it was told to: a review)
    assert short.status_code == 422 and f"window is fixed: give at least {WARMUP + 1} rows of history" in message
    assert "--window" not in message
    # Another key beside the history changes nothing, so it is refused (a cut-off sent was ignored
    # silently, where a batch's envelope refused one: a review, 2026-12-06).
    extra = forecast_client.post("/predict", json={"history": history, "cutoff": 0.0}, headers=AUTH)
    assert extra.status_code == 422 and extra.json()["detail"][0]["loc"] == ["body", "cutoff"]
    assert extra.json()["detail"][0]["type"] == "extra_forbidden" and "'cutoff' would change nothing" in extra.text
    no_history = forecast_client.post("/predict", json={"close": 1.0}, headers=AUTH)
    assert no_history.status_code == 422 and no_history.json()["detail"][0]["type"] == "missing"
    limit = history_limit(WARMUP)
    long = make_long_history(limit + 1)
    too_long = forecast_client.post("/predict", json={"history": long}, headers=AUTH)
    assert too_long.status_code == 413 and f"limit is {limit}" in too_long.json()["detail"]
    assert forecast_client.post("/predict", json={"history": history}).status_code == 401


def make_long_history(rows: int) -> dict[str, list]:
    return _history(make_prices(rows, seed=5))


def test_openapi_and_metadata_describe_the_history(forecast_client: TestClient) -> None:
    schema = forecast_client.get("/openapi.json", headers=AUTH).json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    by_column, by_row = body["properties"]["history"]["oneOf"]
    assert body["required"] == ["history"] and by_column["required"] == ["date", "close", "volume"]
    assert by_column["properties"]["close"]["minItems"] == WARMUP + 1
    assert by_row["maxItems"] == history_limit(WARMUP)
    answer = schema["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "log return" in answer["properties"]["forecast"]["description"]
    meta = forecast_client.get("/metadata", headers=AUTH).json()
    assert meta["market"]["spec"]["objective"] == "return" and meta["cutoff"] is None


def test_a_history_off_the_business_day_calendar_is_answered_with_notes(forecast_client: TestClient,
                                                                       prices: pd.DataFrame,
                                                                       older_forecast_dir: Path) -> None:
    """The forecast reads the rows as they are; a history with a gap or a weekend date says so."""
    tail = prices.tail(WARMUP + 5)
    plain = forecast_client.post("/predict", json={"history": _history(tail)}, headers=AUTH).json()
    assert "notes" not in plain
    longer = prices.tail(WARMUP + 20)
    gappy = pd.concat([longer.iloc[:5], longer.iloc[15:]])  # ten business days left out
    answer = forecast_client.post("/predict", json={"history": _history(gappy)}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    notes = answer.json()["notes"]
    assert len(notes) == 1 and "10 business day(s) missing in 1 gap(s)" in notes[0]
    weekend = tail.copy()
    weekend.loc[weekend.index[-1], "date"] = "2030-01-05"  # a Saturday, after the last business day
    body = forecast_client.post("/predict", json={"history": _history(weekend)}, headers=AUTH).json()
    assert any("1 row(s) fall on a weekend, e.g. 2030-01-05" in note for note in body["notes"])
    # Dates in another form the forecaster reads (with a time of day) are read as it reads them.
    timed = gappy.assign(date=gappy["date"] + "T00:00:00")
    answer = forecast_client.post("/predict", json={"history": _history(timed)}, headers=AUTH)
    assert answer.status_code == 200 and answer.json()["notes"] == notes
    # A last close twenty times the one before (cents among dollars): a log return of 3.0 where
    # training saw at most 0.03 is refused, naming the feature and the date (a review, 2026-12-06:
    # a volume of 1e300 changed a decision with no error).
    jumped = tail.copy()
    jumped.loc[jumped.index[-1], "close"] = jumped["close"].iloc[-2] * 20
    jumped.loc[jumped.index[-1], "volume"] = jumped["volume"].iloc[-2] * 50
    refused = forecast_client.post("/predict", json={"history": _history(jumped)}, headers=AUTH)
    assert refused.status_code == 422, refused.text
    assert re.match(rf"Feature 'log_return' of the request's history at date {tail['date'].iloc[-1]} is 2\.99573, "
                    r"far outside what the model was trained on \(values -0\.0\d+ to 0\.0\d+ in its training windows; "
                    r"finlite scores -0\.5\d+ to 0\.5\d+", refused.json()["detail"][0]["msg"])
    # A model saved before the range was kept forecasts it, and says so; a volume tenfold up is no
    # note (a review, 2026-12-03: train, score and evaluate said it, serve did not).
    older = TestClient(create_app(older_forecast_dir, token=TOKEN))
    body = older.post("/predict", json={"history": _history(jumped)}, headers=AUTH).json()
    assert "forecast" in body and len(body["notes"]) == 1
    assert body["notes"][0].startswith("column 'close' moves more than 10-fold from one row to the next 1 time(s)")


def test_the_predictor_gives_the_same_notes_in_process(older_forecast_dir: Path, prices: pd.DataFrame) -> None:
    """A bank embedding the forecaster in-process is told what serve tells its clients (it was told
    nothing: the notes were the service's alone); the forecast is the same with or without them.
    The jumps below are far beyond the training range, which a model saved since 2026-12-06
    refuses (test above): a model without the range shows the notes."""
    from finlite.data.market import read_prices

    predictor = Predictor(older_forecast_dir)
    tail = prices.tail(WARMUP + 5)
    plain = predictor.forecast(_history(tail), notes=True)
    assert plain["notes"] == [] and "notes" not in predictor.forecast(_history(tail))
    longer = prices.tail(WARMUP + 20)
    gappy = pd.concat([longer.iloc[:5], longer.iloc[15:]])  # ten business days left out
    jumped = gappy.copy()
    jumped.loc[jumped.index[-1], "close"] = jumped["close"].iloc[-2] * 20
    for history in (_history(jumped), jumped.reset_index(drop=True),  # a dict of lists, a DataFrame
                    jumped.assign(date=pd.to_datetime(jumped["date"])).reset_index(drop=True)):  # dates as dates
        answer = predictor.forecast(history, notes=True)
        assert len(answer["notes"]) == 2, answer["notes"]
        assert "10 business day(s) missing in 1 gap(s)" in answer["notes"][0]
        assert answer["notes"][1].startswith("column 'close' moves more than 10-fold from one row to the next")
        assert {k: v for k, v in answer.items() if k != "notes"} == predictor.forecast(history)
    # An unadjusted split on the last day is named, as train, score and evaluate name it; a weekly
    # history is not told of missing business days, as they do not tell it (a review, 2026-12-05).
    halved = tail.copy()
    halved.loc[halved.index[-1], "close"] = halved["close"].iloc[-2] / 2
    split = predictor.forecast(_history(halved), notes=True)["notes"]
    assert len(split) == 1 and "the ratio of a 2:1 split" in split[0], split
    weekly = tail.assign(date=pd.date_range("2020-01-03", periods=len(tail), freq="W-FRI").strftime("%Y-%m-%d"))
    assert predictor.forecast(_history(weekly), notes=True)["notes"] == []
    # A read price table brings the notes its reading made.
    table = read_prices(gappy.reset_index(drop=True), predictor._market().spec)
    assert predictor.forecast(table, notes=True)["notes"] == table.notes and table.notes


def test_a_history_of_several_assets_is_refused_in_the_api_s_terms(tmp_path: Path) -> None:
    """/predict forecasts one asset: a history of two gets a 422 that says so for an HTTP client
    (not the Python methods the Predictor's own message names)."""
    from typer.testing import CliRunner

    from finlite.cli import app

    panel = pd.concat([make_prices(120, seed=s).assign(ticker=t) for s, t in ((1, "AAA"), (2, "BBB"))])
    path = tmp_path / "panel.csv"
    panel.to_csv(path, index=False)
    out = tmp_path / "t"
    runner = CliRunner()
    trained = runner.invoke(app, ["train", str(path), "--task", "forecast", "--date-column", "date", "--target",
                                  "close", "--id-column", "ticker", "--window", "5", "--model", "lightgbm",
                                  "--out", str(out), "--quiet"])
    assert trained.exit_code == 0, trained.output
    assert runner.invoke(app, ["export", str(out), "--data", str(path)]).exit_code == 0
    client = TestClient(create_app(out, token=TOKEN))
    both = panel.groupby("ticker").tail(40)
    answer = client.post("/predict", json={"history": _history(both)}, headers=AUTH)
    assert answer.status_code == 422
    detail = answer.json()["detail"][0]
    assert detail["loc"] == ["body", "history", "ticker"] and "one asset per request" in detail["msg"]
    assert "forecast_all" not in detail["msg"]
    one = client.post("/predict", json={"history": _history(both[both["ticker"] == "BBB"])}, headers=AUTH)
    assert one.status_code == 200 and one.json()["ticker"] == "BBB"
    # Several assets are refused before either is read into windows: a jump in BBB's last window
    # was named instead, sending the caller to fix BBB (a review, 2026-12-06).
    jumped = both.copy()
    jumped.loc[jumped.index[-1], "close"] *= 20
    with pytest.raises(DataError, match=r"holds several assets \(column 'ticker'\); forecast\(\) answers for one"):
        Predictor(out).forecast(jumped)
    # ... and so is a second asset too short to forecast: its rows were named, as if AAA's history
    # needed more of them (a cross-path fuzz, 2026-12-07).
    short = pd.concat([both[both["ticker"] == "AAA"], both[both["ticker"] == "BBB"].tail(3)])
    with pytest.raises(DataError, match=r"holds several assets \(column 'ticker'\); forecast\(\) answers for one"):
        Predictor(out).forecast(short)
    # Ids as the price reader reads them: "BBB " is BBB, but one id written two ways is refused
    # (two histories would be joined into one; a review, 2026-12-04).
    spaced = both[both["ticker"] == "BBB"].assign(ticker="BBB ")
    padded = client.post("/predict", json={"history": _history(spaced)}, headers=AUTH)
    assert padded.status_code == 200 and padded.json()["ticker"] == "BBB"
    spaced.loc[spaced.index[::2], "ticker"] = "BBB"
    mixed = client.post("/predict", json={"history": _history(spaced)}, headers=AUTH)
    assert mixed.status_code == 422 and "is written 'BBB' at row 1 and 'BBB ' at row 2" in mixed.json()["detail"][0]["msg"]
    blank = both[both["ticker"] == "BBB"].assign(ticker=lambda f: ["BBB"] * (len(f) - 1) + [""])
    answer = client.post("/predict", json={"history": _history(blank)}, headers=AUTH)
    assert answer.status_code == 422 and "several assets" not in answer.json()["detail"][0]["msg"]
    assert re.search(r"'ticker'.* empty at row 40", answer.json()["detail"][0]["msg"]), answer.json()


def test_columns_the_model_does_not_read_are_checked_as_the_predictor_checks_them(
        forecast_client: TestClient, forecast_dir: Path, prices: pd.DataFrame) -> None:
    """serve dropped the columns a model does not read before the forecaster saw them, so it
    forecast histories the Predictor and score refuse (an 'open' of 0.0, null or text; a column of
    another length; "meta": 5), each answered 200 (a cross-path fuzz, 2026-12-07)."""
    from finlite.errors import DataError

    history = _history(prices.tail(WARMUP + 5))
    n = len(history["date"])
    predictor = Predictor(forecast_dir)
    cases = {"open 0.0": {"open": [0.0] * n}, "open null": {"open": [None] * n},
             "open -1": {"open": [-1.0] * n}, "open text": {"open": ["x"] * n}}
    for name, extra in cases.items():
        with pytest.raises(DataError, match=r"'open'"):
            predictor.forecast({**history, **extra})
        answer = forecast_client.post("/predict", json={"history": {**history, **extra}}, headers=AUTH)
        assert answer.status_code == 422 and "'open'" in answer.text, (name, answer.text)
    rows = [{**row, "open": 0.0} for row in prices.tail(WARMUP + 5).to_dict("records")]
    as_rows = forecast_client.post("/predict", json={"history": rows}, headers=AUTH)
    assert as_rows.status_code == 422 and "'open'" in as_rows.text
    scalar = forecast_client.post("/predict", json={"history": {**history, "meta": 5}}, headers=AUTH)
    assert scalar.status_code == 422 and scalar.json()["detail"][0]["loc"] == ["body", "history", "meta"]
    shorter = forecast_client.post("/predict", json={"history": {**history, "open": history["close"][:-1]}},
                                   headers=AUTH)
    assert shorter.status_code == 422 and "'open' holds" in shorter.text
    # A good price column the model does not read changes nothing.
    fine = forecast_client.post("/predict", json={"history": {**history, "open": history["close"]}}, headers=AUTH)
    assert fine.status_code == 200 and fine.json()["forecast"] == pytest.approx(predictor.forecast(history)["forecast"])


def test_a_short_history_to_a_loaded_forecaster_is_told_the_window_is_fixed(forecast_dir: Path,
                                                                            prices: pd.DataFrame) -> None:
    """finlite.load(...).forecast of a short history advised "Use a shorter window (--window)", the
    trainer's advice, where the Predictor, serve and score say the window is fixed (a cross-path
    fuzz, 2026-12-07)."""
    import finlite
    from finlite.errors import DataError

    with pytest.raises(DataError, match=rf"The model's window is fixed: give at least {WARMUP + 1} rows") as caught:
        finlite.load(forecast_dir).forecast(prices.tail(WARMUP))
    assert "--window" not in str(caught.value)
