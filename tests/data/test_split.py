"""The split by group (an account's rows in one part), its out-of-fold folds, and the warning of
accounts split across parts by a split by row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finlite.data import Preprocessor, SplitConfig, make_split, prepare
from finlite.data.preprocess import Encoding
from finlite.data.split import group_codes, group_keys, grouped_folds
from finlite.errors import ConfigError, DataError


def panel(german: pd.DataFrame, applicants: int = 300, snapshots: int = 4, seed: int = 0) -> pd.DataFrame:
    """German credit's first ``applicants`` rows as ``snapshots`` monthly rows each, the amounts
    drifting a little: one applicant's rows share every input but two, and the outcome."""
    rng = np.random.default_rng(seed)
    base = german.iloc[:applicants].reset_index(drop=True)
    rows = []
    for month in range(snapshots):
        frame = base.copy()
        frame.insert(0, "account_id", [f"ACC{i:05d}" for i in range(len(base))])
        frame["credit_amount"] = (frame["credit_amount"] * (1 - 0.02 * month) + rng.normal(0, 30, len(frame))).round()
        frame["duration_in_month"] = (frame["duration_in_month"] - month).clip(lower=1)
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 8), min_size=12, max_size=60), seed=st.integers(0, 2**16),
       data=st.data())
def test_no_group_in_two_parts(sizes: list[int], seed: int, data: st.DataObject) -> None:
    """Every row lands in exactly one part, every group's rows in the same part, and the same groups
    split alike whatever the order of the rows."""
    groups = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    bad_groups = data.draw(st.sets(st.integers(0, len(sizes) - 1), min_size=3, max_size=max(3, len(sizes) - 3)))
    if len(sizes) - len(bad_groups) < 3:
        return
    # A positive group holds at least one positive row; some of its rows may be 0 (a later default).
    labels = np.array([1.0 if int(g[1:]) in bad_groups and k == 0 else 0.0
                       for g, k in zip(groups, np.concatenate([np.arange(s) for s in sizes]), strict=True)])
    frame = pd.DataFrame({"account": groups, "x": np.arange(len(groups))})
    config = SplitConfig(group_column="account", seed=seed)
    try:
        split = make_split(frame, labels, config)
    except DataError as exc:  # a part without both classes: said, never a silent bad split
        assert "not both classes" in str(exc)
        return
    assert split.method == "grouped"
    parts = np.concatenate([split.train, split.validation, split.test])
    assert np.array_equal(np.sort(parts), np.arange(len(groups)))
    owner = {}
    for name in ("train", "validation", "test"):
        for g in set(groups[getattr(split, name)]):
            assert owner.setdefault(g, name) == name
    # The rows shuffled: the same accounts in the same parts.
    order = np.random.default_rng(seed + 1).permutation(len(groups))
    again = make_split(frame.iloc[order].reset_index(drop=True), labels[order], config)
    for name in ("train", "validation", "test"):
        assert set(groups[getattr(split, name)]) == set(groups[order][getattr(again, name)])


def test_shares_and_bad_rate_follow_the_config() -> None:
    rng = np.random.default_rng(3)
    accounts = np.repeat(np.arange(2000), 6)
    defaulted = rng.random(2000) < 0.1
    labels = defaulted[accounts].astype(float)
    frame = pd.DataFrame({"account_id": accounts})
    split = make_split(frame, labels, SplitConfig(group_column="account_id", seed=1, validation=0.25, test=0.15))
    n = len(frame)
    assert len(split.test) / n == pytest.approx(0.15, abs=0.005)
    assert len(split.validation) / n == pytest.approx(0.25, abs=0.005)
    for part in (split.train, split.validation, split.test):  # stratified: the book's bad rate in every part
        assert labels[part].mean() == pytest.approx(labels.mean(), abs=0.003)
    assert split.notes == ()
    assert make_split(frame, labels, SplitConfig(group_column="account_id", seed=1, validation=0.25,
                                                 test=0.15)).test.tolist() == split.test.tolist()
    assert make_split(frame, labels, SplitConfig(group_column="account_id", seed=2, validation=0.25,
                                                 test=0.15)).test.tolist() != split.test.tolist()


def test_a_few_large_groups_are_told() -> None:
    sizes = [600, 500, 400, *([5] * 30)]
    accounts = np.repeat(np.arange(len(sizes)), sizes)
    labels = (accounts % 2).astype(float)
    split = make_split(pd.DataFrame({"a": accounts}), labels, SplitConfig(group_column="a", seed=0))
    assert any("each value's rows stay in one part" in note for note in split.notes)


def test_refusals() -> None:
    frame = pd.DataFrame({"acct": ["a", "a", None, "b", "c", "d", "e", "f"], "x": range(8)})
    labels = np.array([1, 1, 0, 0, 1, 0, 1, 0], dtype=float)
    with pytest.raises(DataError, match=r"Group column 'acct' of the data is blank at row 3 \(1 row blank"):
        make_split(frame, labels, SplitConfig(group_column="acct"))
    with pytest.raises(DataError, match=r"Group column 'nope' for the split by group is not in the data"):
        make_split(frame, labels, SplitConfig(group_column="nope"))
    frame = pd.DataFrame({"acct": list("aabbccdde"), "x": range(9)})
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=float)
    with pytest.raises(DataError, match=r"Only 2 value\(s\) of 'acct' in the data hold a positive row; a split by "
                                        r"group needs at least 3"):
        make_split(frame, labels, SplitConfig(group_column="acct"))
    with pytest.raises(ConfigError, match=r"A split by group \('acct'\) and an out-of-time split \('d'\) were both"):
        SplitConfig(group_column="acct", date_column="d")
    with pytest.raises(ConfigError, match=r"'group_column' parameter of SplitConfig must be a column name"):
        SplitConfig(group_column="")


def test_group_codes_read_numbers_and_text_alike() -> None:
    as_numbers = group_codes(pd.Series([7, 3, 7, 12]), "a", "x")
    as_text = group_codes(pd.Series(["7", "3 ", "7", "12"]), "a", "x")
    assert as_numbers.tolist() == as_text.tolist()
    assert as_numbers[0] == as_numbers[2] != as_numbers[1]


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 30), min_size=5, max_size=80), k=st.integers(2, 5), seed=st.integers(0, 999))
def test_grouped_folds(sizes: list[int], k: int, seed: int) -> None:
    codes = np.repeat(np.arange(len(sizes)), sizes)
    fold = grouped_folds(codes, k, seed)
    for g in range(len(sizes)):
        assert len(set(fold[codes == g])) == 1
    counts = np.bincount(fold, minlength=k)
    # Each group goes to the emptiest fold: no fold exceeds another by more than the largest group.
    assert counts.max() - counts.min() <= max(sizes)
    assert np.array_equal(grouped_folds(codes, k, seed), fold)


def test_out_of_fold_encoding_keeps_an_account_out_of_its_own_encoding() -> None:
    """A category unique to one account (its branch code, say) is encoded from the other folds: with
    whole accounts in a fold, no other fold holds it, so every row takes the prior's weight of
    evidence (0); dealt by row, each row read its own account's outcome."""
    rng = np.random.default_rng(0)
    accounts = np.repeat(np.arange(400), 5)
    bad = (rng.random(400) < 0.3)[accounts]
    frame = pd.DataFrame({"acct": accounts, "code": [f"c{a}" for a in accounts], "x": rng.normal(size=len(accounts)),
                          "y": np.where(bad, "bad", "good")})
    from finlite.data import infer_schema

    schema = infer_schema(frame, "y", positive="bad", categorical=["code"], drop=["acct"])
    labels = bad.astype(float)
    by_row = Preprocessor(schema, Encoding(max_categories=5, min_category_count=3)).fit(frame, "t", labels=labels)
    leaked = by_row.transform_out_of_fold(frame, labels, "t")
    by_group = Preprocessor(schema, Encoding(max_categories=5, min_category_count=3, group_column="acct")).fit(
        frame, "t", labels=labels)
    kept = by_group.transform_out_of_fold(frame, labels, "t")
    column = by_group.feature_names.index("code__woe")
    assert np.all(kept[:, column] == 0.0)
    assert np.corrcoef(leaked[:, column], labels)[0, 1] > 0.8
    assert Encoding.from_dict(by_group.encoding.to_dict()).group_column == "acct"
    assert "group_column" not in Encoding().to_dict()


def test_prepare_splits_by_group_and_keeps_the_column_out(german: pd.DataFrame) -> None:
    book = panel(german)
    data = prepare(book, target="creditability", split=SplitConfig(group_column="account_id"))
    assert data.split.method == "grouped"
    assert "account_id" in data.schema.drop and "account_id" not in data.preprocessor.feature_names
    assert any("'account_id' kept out of the inputs" in n for n in data.schema.notes)
    train_ids = set(book["account_id"].iloc[data.split.train])
    assert not train_ids & set(book["account_id"].iloc[data.split.test])
    assert data.preprocessor.encoding.group_column == "account_id"
    assert not any("--group-column" in n for n in data.split_notes())
    with pytest.raises(DataError, match=r"'account_id' is the group column and is also named in categorical"):
        prepare(book, target="creditability", categorical=["account_id"], split=SplitConfig(group_column="account_id"))
    with pytest.raises(DataError, match=r"'creditability' is the target and is also the group column"):
        prepare(book, target="creditability", split=SplitConfig(group_column="creditability"))


def test_test_rows_that_copy_training_rows_are_warned_of(german: pd.DataFrame) -> None:
    """A table appended twice put copies of one applicant on both sides of the split: the test
    metrics measured remembered rows and nothing said so (a metamorphic review, 2026-12-07)."""
    twice = pd.concat([german, german], ignore_index=True)
    data = prepare(twice, target="creditability")
    [note] = [n for n in data.split_notes() if "copy a training row" in n]
    test, train = data.frame.iloc[data.split.test], data.frame.iloc[data.split.train]
    # Independent: test rows whose every cell (the label included) equals a training row's.
    seen = set(map(tuple, train.astype(str).to_numpy()))
    copies = sum(tuple(row) in seen for row in test.astype(str).to_numpy())
    assert copies > 100
    assert note.startswith(f"{copies:,} of the test split's {len(test):,} rows ({copies / len(test):.1%}) copy a "
                           "training row in every column of the table (1,000 rows of the table repeat another row)")
    assert not any("copy a training row" in n for n in prepare(german, target="creditability").split_notes())
    # Distinct applications: an application number tells the copies apart.
    numbered = twice.assign(application=np.arange(len(twice)))
    assert not any("copy a training row" in n for n in prepare(numbered, target="creditability").split_notes())
    # A few copies (under 1 % of the test rows) are not worth a warning.
    few = pd.concat([german, german.iloc[:20]], ignore_index=True)
    assert not any("copy a training row" in n for n in prepare(few, target="creditability").split_notes())


def test_a_split_by_row_of_a_panel_is_warned_of(german: pd.DataFrame) -> None:
    book = panel(german)
    rng = np.random.default_rng(1)
    book["branch_id"] = rng.integers(0, 20, len(book))  # shared values, but no account's outcome
    notes = prepare(book, target="creditability").split_notes()
    said = [n for n in notes if "--group-column" in n]
    assert len(said) == 1
    assert said[0].startswith("column 'account_id': ")
    assert "those training rows' outcomes alone rank them with AUC 1.00" in said[0]
    # One row per applicant: nothing shared, nothing said.
    single = panel(german, snapshots=1)
    assert not any("--group-column" in n for n in prepare(single, target="creditability").split_notes())
    # A count named like a number, or an id of a few values, that predicts the outcome is no
    # account (a review, 2026-12-07: num_missed_payments was told to be the split's column).
    y = (single["creditability"] == "bad").to_numpy()
    strong = single.assign(num_missed_payments=np.where(y, rng.poisson(3, len(y)), rng.poisson(0.3, len(y))),
                           grade_id=np.where(y, rng.integers(4, 8, len(y)), rng.integers(0, 5, len(y))))
    assert not any("--group-column" in n for n in prepare(strong, target="creditability").split_notes())


def test_a_thin_test_split_by_group_is_warned_of(german: pd.DataFrame) -> None:
    """Rows of one account move together: 120 accounts of 60 rows with two bad accounts tested
    passed the row count's warning (a review, 2026-12-07)."""
    book = panel(german, applicants=120, snapshots=6)
    data = prepare(book, target="creditability", split=SplitConfig(group_column="account_id"))
    [note] = [n for n in data.split_notes() if "thin evidence" in n]
    tested = book.iloc[data.split.test]
    bad = tested.loc[tested["creditability"] == "bad", "account_id"].nunique()
    assert note.startswith(f"the test split holds {tested['account_id'].nunique()} values of 'account_id', {bad} of "
                           "them with a 'bad' row and ")
    assert "are narrower than its accounts allow" in note
    big = panel(german, applicants=1000, snapshots=2)
    assert not any("thin evidence" in n for n in prepare(big, target="creditability",
                                                         split=SplitConfig(group_column="account_id")).split_notes())


def test_a_csv_and_its_parquet_copy_split_alike(german: pd.DataFrame, tmp_path: Path) -> None:
    """A CSV reader reads "00012" as 12 where Parquet keeps the text: the same book split two ways
    (a review, 2026-12-07). Whole numbers are one key however written."""
    from finlite.data import read_table

    book = panel(german, applicants=200, snapshots=3)
    book["account_id"] = [f"{i:06d}" for i in np.repeat(np.arange(200), 1)] * 3
    book.to_csv(tmp_path / "book.csv", index=False)
    book.to_parquet(tmp_path / "book.parquet")
    config = SplitConfig(group_column="account_id")
    parts = [prepare(read_table(tmp_path / name), target="creditability", split=config).split
             for name in ("book.csv", "book.parquet")]
    assert read_table(tmp_path / "book.csv").frame["account_id"].dtype.kind == "i"
    assert parts[0].test.tolist() == parts[1].test.tolist()
    assert group_codes(pd.Series([7, 7.0, "7", "007", " 7 ", "7.00"], dtype=object), "a", "x").tolist() == [0] * 6
    # Exactly: 17- to 19-digit account numbers were merged through a float (a review, 2026-12-07);
    # decimals by their digits; an exponent or hex-like code kept as written; "NA" is blank.
    keys = group_keys(pd.Series(["12345678901234567", "12345678901234568", 12345678901234567, 10**18 + 1,
                                 "12.50", 12.5, "1e5", "100000", "0e12", "000", "NA", "nan", None], dtype=object))
    assert keys.tolist()[:10] == ["12345678901234567", "12345678901234568", "12345678901234567",
                                  "1000000000000000001", "12.5", "12.5", "1e5", "100000", "0e12", "0"]
    assert keys.isna().tolist()[10:] == [True, True, True]
    # One account however the system wrote it: composed or decomposed accents, full-width and other
    # scripts' digits (237 of 354 test accounts sat on both sides of a split: an international
    # walk-through, 2026-12-07); the ASCII "NA" and distinct names stay as they were.
    import unicodedata

    written = ["Müller-N", unicodedata.normalize("NFD", "Müller-N"), "０００１２", "١٢", "12", "१२", "Mueller-N"]
    assert group_keys(pd.Series(written, dtype=object)).tolist() == ["Müller-N", "Müller-N", "12", "12", "12", "12",
                                                                      "Mueller-N"]


def test_a_blank_account_is_named_by_its_row_in_the_file(german: pd.DataFrame) -> None:
    book = panel(german, applicants=100, snapshots=2).astype({"creditability": object})
    book.loc[3, "creditability"] = None  # unlabelled, left out before the split
    book.loc[10, "account_id"] = " "
    with pytest.raises(DataError, match=r"Group column 'account_id' of DataFrame is blank at row 11 \(1 row blank in "
                                        r"all\)"):
        prepare(book, target="creditability", split=SplitConfig(group_column="account_id"))


def test_an_out_of_time_split_says_which_order_it_read_ambiguous_dates_in() -> None:
    """Slash dates whose days are all 12 or less were read month first without a word, the wrong
    order in most of Europe (a European modeller's walk-through, 2026-12-07): a split note says so,
    with an example read both ways; a day above 12, ISO dates or German dots say nothing."""
    rng = np.random.default_rng(0)
    days = [f"{d:02d}/{m:02d}/2019" for d in range(1, 13) for m in range(1, 13)]
    labels = (rng.random(len(days)) < 0.3).astype(float)
    labels[:3], labels[-3:] = 1.0, 0.0
    split = make_split(pd.DataFrame({"d": days}), labels, SplitConfig(date_column="d"))
    assert ("date column 'd': no date written with '/' has a day above 12, so whether the day or the month comes "
            "first could not be told from the values; read month first ('01/02/2019' as 2 January). If that is "
            "wrong, write the dates as YYYY-MM-DD.") in split.notes
    for other in ([d.replace("/", ".") for d in days], [f"2019-{m:02d}-{d:02d}" for d in range(1, 13)
                                                         for m in range(1, 13)], [*days[:-1], "13/12/2019"]):
        notes = make_split(pd.DataFrame({"d": other}), labels, SplitConfig(date_column="d")).notes
        assert not any("could not be told" in n for n in notes)
