"""Paths handed to finlite that name something other than a small regular file: a named pipe
(which a reader waits on for ever), a device (``/dev/zero`` never ends), a directory, a gzip
bomb, or a key that an audit log would append to. Each is refused at once, naming the option;
none hangs, fills the memory or damages an input (found by a review of the CLI's file handling)."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from finlite._paths import FileTooLarge, NotRegularFile, read_small_file
from finlite.cli import app
from finlite.data import io
from finlite.errors import ConfigError, DataError
from finlite.runtime.service import ServeSettings, check_settings

runner = CliRunner()


@pytest.fixture()
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def _run(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, args)
    return result.exit_code, " ".join(result.output.split())


def test_a_small_file_is_read_only_when_it_is_a_regular_file_within_its_limit(tmp_path: Path, fifo: Path) -> None:
    for special in (fifo, Path("/dev/zero"), tmp_path):
        with pytest.raises(NotRegularFile, match="not a regular file"):
            read_small_file(special, 1_000)  # returns at once: no wait on the pipe, no endless read
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 1_001)
    with pytest.raises(FileTooLarge) as exc:
        read_small_file(big, 1_000)
    assert exc.value.size == 1_001
    assert read_small_file(big, 1_001) == b"x" * 1_001


@pytest.mark.parametrize("option", ["--recipe", "--plan"])
@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_compress_refuses_a_recipe_or_plan_that_is_a_pipe_or_a_device(teacher_dir: Path, german_csv: Path,
                                                                      tmp_path: Path, fifo: Path, option: str,
                                                                      special: str) -> None:
    path = str(fifo) if special == "fifo" else special
    code, output = _run(["compress", str(teacher_dir), str(german_csv), option, path, "--out", str(tmp_path / "s")])
    assert code == 2 and "not a regular file" in output, output
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_key_that_is_a_pipe_or_a_device_is_refused(exported_dir: Path, fifo: Path, special: str) -> None:
    path = str(fifo) if special == "fifo" else special
    code, output = _run(["inspect", str(exported_dir), "--verify-key", path])
    assert code == 2 and "not a regular file" in output and "--verify-key" in output, output


def test_score_refuses_a_pipe_or_a_directory_as_its_input(exported_dir: Path, tmp_path: Path) -> None:
    pipe = tmp_path / "book.parquet"
    os.mkfifo(pipe)
    code, output = _run(["score", str(exported_dir), str(pipe), "-o", str(tmp_path / "a.csv")])
    assert code == 2 and "is not a regular file" in output, output
    folder = tmp_path / "book.csv"
    folder.mkdir()
    code, output = _run(["score", str(exported_dir), str(folder), "-o", str(tmp_path / "b.csv")])
    assert code == 2 and "is a directory" in output, output


def test_a_table_read_whole_refuses_a_device_or_a_pipe(exported_dir: Path, tmp_path: Path) -> None:
    # evaluate, train and reproduce said "is empty (0 bytes); export the table again" of /dev/zero.
    pipe = tmp_path / "book.csv"
    os.mkfifo(pipe)
    for path in ("/dev/zero", str(pipe)):
        with pytest.raises(DataError, match=r"is not a regular file \(a device, a pipe or a socket\)"):
            io.read_table(path)  # returns at once: no wait on the pipe
    code, output = _run(["evaluate", str(exported_dir), "/dev/zero"])
    assert code == 2 and "'/dev/zero' is not a regular file" in output, output


def test_an_unwritable_output_is_named_as_given(exported_dir: Path, german_csv: Path) -> None:
    # synth blamed --rows ("only 0 bytes is free"); score named its hidden temporary file.
    for args in (["datasets", "synth", "--rows", "2000", "-o", "/proc/x.csv"],
                 ["score", str(exported_dir), str(german_csv), "-o", "/proc/x.csv"]):
        code, output = _run(args)
        assert code == 2 and "-o '/proc/x.csv' cannot be written" in output and ".tmp" not in output, output
    code, output = _run(["report", str(exported_dir), str(german_csv), "--out", "/proc/x"])
    assert code == 2 and "--out '/proc/x' cannot be written" in output and ".tmp" not in output, output


def test_a_name_too_long_for_the_file_system_is_named(exported_dir: Path, german_csv: Path, tmp_path: Path) -> None:
    # A 300-character folder name was told as "File name too long" of an artifact's manifest.json,
    # a file finlite only looked for (a review, 2026-12-04).
    folder, name = tmp_path / ("a" * 300), "b" * 240 + ".csv"
    for args, said in (
            (["score", str(exported_dir), str(german_csv), "-o", str(folder / "s.csv")],
             r"the name 'a{40}'… is 300 bytes long; a name may have at most 255\. Choose a shorter name"),
            (["score", str(exported_dir), str(german_csv), "-o", str(tmp_path / name)],
             r"the name 'b{40}'… is 244 bytes long; finlite writes it under a temporary name \d+ bytes longer first"),
            (["train", str(german_csv), "--target", "creditability", "--out", str(folder)], r"is 300 bytes long"),
            (["datasets", "synth", "--rows", "10", "-o", str(folder / "b.csv")], r"is 300 bytes long")):
        code, output = _run(args)
        assert code == 2 and re.search(said, output) and "manifest.json" not in output, output
    code, output = _run(["demo", "--out", str(folder)])
    assert code == 2 and "is 300 bytes long" in output and ".finlite-demo" not in output, output
    assert list(tmp_path.iterdir()) == []
    # The longest name whose temporary names fit: 255 less 15 bytes and a 7-digit process id.
    from finlite._paths import check_name_lengths

    check_name_lengths(tmp_path / ("c" * 229 + ".csv"), "-o", ConfigError)
    with pytest.raises(ConfigError, match=r"is 234 bytes long; finlite writes it under a temporary name 22 bytes"):
        check_name_lengths(tmp_path / ("c" * 230 + ".csv"), "-o", ConfigError)


def test_serve_refuses_a_token_file_that_is_a_pipe(exported_dir: Path, fifo: Path) -> None:
    code, output = _run(["serve", str(exported_dir), "--token-file", str(fifo), "--port", "18931"])
    assert code == 2 and "not a regular file" in output, output


def test_the_audit_log_is_never_the_key_given_by_the_environment(exported_dir: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "trusted.pem"
    key.write_text("-----BEGIN PUBLIC KEY-----\n")
    monkeypatch.setenv("FINLITE_VERIFY_KEY", str(key))
    with pytest.raises(ConfigError, match=r"is the \$FINLITE_VERIFY_KEY"):
        check_settings(ServeSettings(artifact=str(exported_dir), audit_log=str(key)))
    assert key.read_text() == "-----BEGIN PUBLIC KEY-----\n"


def test_a_gzip_bomb_is_refused_and_a_gzipped_table_is_read(tmp_path: Path, german: pd.DataFrame,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "book.csv.gz"
    german.to_csv(good, index=False, compression="gzip")
    pd.testing.assert_frame_equal(io.read_table(good).frame, io.read_table(german).frame)
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb") as fh:
        fh.write(b"a" * 200_000 + b"\n1\n")
    monkeypatch.setattr(io, "_GZIP_MIN_LIMIT", 10_000)
    with pytest.raises(DataError, match=r"bomb\.csv\.gz' decompresses to more than [0-9,]+ bytes \(100 times its size"):
        io.read_table(bomb)


def test_score_reads_a_gzipped_file_through_the_same_bound(exported_dir: Path, german: pd.DataFrame, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Training bounded a .csv.gz's decompression; score let Arrow decompress it by its name,
    unbounded (a 5 MB file scored 1.1 GiB of rows, exit 0: a nightly run's walk-through, 2026-12-05)."""
    import finlite._util as util
    from finlite.runtime import Predictor
    from finlite.runtime.batch import score_file

    rows = german.drop(columns=["creditability"])
    good = tmp_path / "book.csv.gz"
    rows.to_csv(good, index=False, compression="gzip")
    predictor = Predictor(exported_dir)
    score_file(predictor, good, tmp_path / "good.csv")
    scored = pd.read_csv(tmp_path / "good.csv")
    np.testing.assert_allclose(scored["score"].to_numpy(), predictor.predict_score(rows), rtol=0, atol=1e-6)
    bomb = tmp_path / "bomb.csv.gz"
    rows.iloc[[0] * 40_000].to_csv(bomb, index=False, compression="gzip")  # one row 40,000 times: over 100x
    monkeypatch.setattr(util, "GZIP_MIN_LIMIT", 10_000)
    with pytest.raises(DataError, match=r"bomb\.csv\.gz' decompresses to more than [0-9,]+ bytes \(100 times its size"):
        score_file(predictor, bomb, tmp_path / "bomb.csv")
    assert not (tmp_path / "bomb.csv").exists() and not list(tmp_path.glob(".bomb.csv.*"))
    # Cut short: Python's gzip raised EOFError, which the command line took for an abort (exit 1,
    # "a gate decided"; a review, 2026-12-05). A DataError naming the file, in training's reader too.
    cut = tmp_path / "cut.csv.gz"
    big = tmp_path / "big.csv.gz"  # cut past its first block, which the header is read from
    rows.iloc[np.arange(40_000) % len(rows)].to_csv(big, index=False, compression="gzip")
    for name, size in (("cut.csv.gz", good.stat().st_size // 2), ("cutbig.csv.gz", big.stat().st_size * 3 // 4)):
        (tmp_path / name).write_bytes((good if name == "cut.csv.gz" else big).read_bytes()[:size])
        with pytest.raises(DataError, match=r"cut(big)?\.csv\.gz'.* (is not a complete gzip stream|as CSV \(Truncated)"):
            score_file(predictor, tmp_path / name, tmp_path / "cut.csv")
    with pytest.raises(DataError, match=r"cut\.csv\.gz' is not a complete gzip stream"):
        io.read_table(cut)
    assert not (tmp_path / "cut.csv").exists()


# -- outputs inside an artifact that the command does not read ---------------------------------------
@pytest.fixture()
def victim(exported_dir: Path, tmp_path: Path) -> Path:
    """An artifact folder no command below reads: a file written into it breaks it."""
    import shutil

    folder = tmp_path / "victim"
    shutil.copytree(exported_dir, folder)
    return folder


def _intact(folder: Path) -> bool:
    import finlite

    finlite.load(folder)
    return True


def test_no_output_option_writes_into_an_artifact_folder(victim: Path, exported_dir: Path, teacher_dir: Path,
                                                         german_csv: Path, tmp_path: Path) -> None:
    # Each of these exited 0 and left `victim` refused ("altered after saving", "an entry its
    # manifest does not list") before outputs were checked against every artifact folder.
    before = {p.name: p.read_bytes() for p in victim.iterdir()}
    cases = [
        ["datasets", "synth", "--rows", "2000", "-o", str(victim / "flips.csv"), "--force"],  # a listed file
        ["datasets", "synth", "--rows", "2000", "-o", str(victim / "book.parquet")],  # a new entry
        ["score", str(exported_dir), str(german_csv), "-o", str(victim / "flips.csv"), "--force"],
        ["score", str(exported_dir), str(german_csv), "-o", str(victim / "scores.csv")],
        ["compress", str(teacher_dir), str(german_csv), "--dry-run", "--save-plan", str(victim / "plan.json")],
        ["train", str(german_csv), "--target", "creditability", "--out", str(victim / "sub" / "model")],
        ["report", str(exported_dir), str(german_csv), "--out", str(victim / "report")],
    ]
    for args in cases:
        code, output = _run(args)
        assert code == 2, (args, output)
        assert f"lies inside the finlite artifact '{victim}'" in output and "Choose an output path outside" in output
        assert {p.name: p.read_bytes() for p in victim.iterdir()} == before, args
    assert _intact(victim)


def test_the_audit_log_never_appends_to_a_file_of_another_kind(exported_dir: Path, tmp_path: Path,
                                                               german_csv: Path) -> None:
    from finlite.runtime.service import AuditLog

    data = tmp_path / "book.csv"
    data.write_bytes(german_csv.read_bytes())
    with pytest.raises(ConfigError, match=r"already holds data that is not a finlite audit log"):
        AuditLog(data)
    assert data.read_bytes() == german_csv.read_bytes()
    log = tmp_path / "audit.jsonl"
    first = AuditLog(log)
    first.write([{"event": "prediction", "time": "2026-12-01T00:00:00Z", "request_id": "a"}])
    first.close()
    again = AuditLog(log)  # a log an earlier 'finlite serve' wrote is appended to
    again.write([{"event": "error", "time": "2026-12-01T00:00:01Z", "request_id": "b"}])
    again.close()
    assert len(log.read_text().splitlines()) == 2
    long = tmp_path / "long.jsonl"  # a first line longer than the 64 KiB the check reads
    first = AuditLog(long)
    first.write([{"event": "prediction", "time": "t", "features": {"note": "x" * 100_000}}])
    first.close()
    AuditLog(long).close()
