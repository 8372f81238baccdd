"""The columnar intake (claims/intake/columnar.py) is a fast path, never a second set of rules: on every file
it either gives exactly the records of the row-by-row intake, or declines — and then ``read_inputs`` gives
the row path's records or its problems, word for word."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from benchmarks.generate import generate
from claims.intake import check_tables, read_inputs, read_tables
from claims.intake.columnar import read_inputs_fast
from claims.problems import ProblemsFound
from tests.intake.test_inputs import CHINESE

TODAY = date(2026, 6, 30)  # after every generated submission
KINDS = ("members", "enrollments", "claims")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, list[list[str]]]:
    folder = tmp_path_factory.mktemp("generated")
    generate(300, folder)
    return {kind: list(csv.reader((folder / f"{kind}.csv").open(encoding="utf-8", newline=""))) for kind in KINDS}


def _write(folder: Path, tables: dict[str, list[list[str]]], encoding: str = "utf-8") -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, rows in tables.items():
        paths[kind] = folder / f"{kind}.csv"
        with paths[kind].open("w", encoding=encoding, newline="") as handle:
            csv.writer(handle, lineterminator="\r\n" if encoding != "utf-8" else "\n").writerows(rows)
    return paths


def _row_path(policy, paths):
    """What the row-by-row intake alone gives: its records, or its problems as text."""
    try:
        inputs = check_tables(policy, read_tables(paths), TODAY)
    except ProblemsFound as found:
        return [str(p) for p in found.problems]
    return inputs


def _outcome(policy, paths):
    try:
        return read_inputs(policy, paths["members"], paths["enrollments"], paths["claims"], TODAY)
    except ProblemsFound as found:
        return [str(p) for p in found.problems]


def _same_records(a, b) -> None:
    assert a.members == b.members and a.enrollments == b.enrollments and a.claims == b.claims
    # equal Decimals can still print differently (1234.5 vs 1234.50): compare as text too
    assert [tuple(map(str, c)) for c in a.claims] == [tuple(map(str, c)) for c in b.claims]
    assert [tuple(map(str, m)) for m in a.members.values()] == [tuple(map(str, m)) for m in b.members.values()]


def _copy(tables):
    return {kind: [list(row) for row in rows] for kind, rows in tables.items()}


def _set(tables, kind: str, row: int, column: str, value: str) -> None:
    tables[kind][row][tables[kind][0].index(column)] = value


def test_generated_files_are_proved_valid_and_give_the_row_paths_records(hangzhou, generated, tmp_path):
    paths = _write(tmp_path, generated)
    fast = read_inputs_fast(hangzhou, paths, TODAY)
    assert fast is not None  # the point of the fast path: plain valid files never go row by row
    _same_records(fast, _row_path(hangzhou, paths))


def test_chinese_headers_gbk_lenient_dates_and_item_names_stay_on_the_fast_path(hangzhou, generated, tmp_path):
    tables = _copy(generated)
    for rows in tables.values():
        rows[0] = [CHINESE[h] for h in rows[0]]
    date_column = tables["claims"][0].index("出院日期")
    for row in tables["claims"][1:]:
        year, month, day = row[date_column].split("-")
        row[date_column] = f"{year}/{int(month)}/{int(day)}"  # 2025/6/1, as typed
    item_column = tables["enrollments"][0].index("保障项目")
    for row in tables["enrollments"][1:]:
        if row[item_column] == "medical":
            row[item_column] = "住院和规定病种门诊自负医疗费补助"  # the item by its Chinese name
    paths = _write(tmp_path, tables, "gbk")
    fast = read_inputs_fast(hangzhou, paths, TODAY)
    assert fast is not None
    _same_records(fast, _row_path(hangzhou, paths))
    assert "medical" in {e.item for e in fast.enrollments}  # the name resolved to the item's code


CHANGES = [  # (kind, data row, column, new cell): each either a problem or a form only the row path reads
    ("members", 3, "id_number", "330102198005120143"),  # wrong check digit
    ("members", 3, "id_number", "33010219800512014x"),  # lower-case x: valid, row path only
    ("members", 3, "id_number", "110101000001011236"),  # born in year 0: a valid check digit, no such day
    ("members", 4, "member_id", "M0000000"),  # duplicated member
    ("members", 2, "name", "王\u200b丽"),  # a hidden character
    ("members", 2, "bank_account", "6222 6384 3904 4354"),  # spaces in an account: valid, row path only
    ("enrollments", 5, "item", "dental"),  # not in the policy
    ("enrollments", 5, "shares", "9"),  # more shares than allowed
    ("enrollments", 5, "member_id", "M9999999"),  # unknown member
    ("enrollments", 5, "period", "二〇二五"),  # not a year
    ("claims", 7, "claim_id", "C00000001"),  # claim id twice
    ("claims", 7, "total_cost", "1,234.50"),  # lenient money: the sum no longer adds up
    ("claims", 7, "insurance_paid", "-1.00"),  # negative
    ("claims", 7, "self_pay_in_scope", "12.345"),  # three decimals
    ("claims", 7, "discharge_date", "2099-01-01"),  # after today
    ("claims", 7, "submitted_date", "2025-01-01"),  # before admission
    ("claims", 7, "diagnoses", "X"),  # not an ICD-10 code
    ("claims", 7, "hospital_level", "四级"),
    ("claims", 7, "member_id", "M9999999"),
    ("claims", 7, "invoice_no", "发票１２３"),  # full-width digits: valid, normalised by the row path
    ("claims", 7, "event_type", ""),  # required
]


@pytest.mark.parametrize("kind,row,column,value", CHANGES)
def test_any_other_file_gets_exactly_what_the_row_path_gives(hangzhou, generated, tmp_path, kind, row, column,
                                                              value):
    tables = _copy(generated)
    _set(tables, kind, row, column, value)
    paths = _write(tmp_path, tables)
    expected, got = _row_path(hangzhou, paths), _outcome(hangzhou, paths)
    if isinstance(expected, list):
        assert expected and got == expected  # the same located messages, in the same order
        assert read_inputs_fast(hangzhou, paths, TODAY) is None
    else:
        _same_records(got, expected)


@pytest.mark.parametrize("damage", ["blank line", "quoted cell", "ragged row", "only commas"])
def test_unusual_csv_goes_the_row_path(hangzhou, generated, tmp_path, damage):
    paths = _write(tmp_path, generated)
    path = paths["claims"]
    lines = path.read_text(encoding="utf-8").splitlines()
    if damage == "blank line":
        lines.insert(5, "")
    elif damage == "quoted cell":
        lines[5] = lines[5].replace("inpatient", '"inpatient"')
    elif damage == "ragged row":
        lines[5] += ",extra"
    else:
        lines.insert(5, "," * 14)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected, got = _row_path(hangzhou, paths), _outcome(hangzhou, paths)
    if isinstance(expected, list):
        assert got == expected
    else:
        _same_records(got, expected)


def test_shares_of_proved_files_hold_every_record_once_by_member(hangzhou, generated, tmp_path):
    """``claims calculate --workers``: each worker builds its own share's records from the proved columns;
    together they are exactly the whole files' records, each member with all of its enrollments and claims."""
    from claims.intake import Share
    from claims.intake.columnar import prove_inputs, records_of, shares_of

    proved = prove_inputs(hangzhou, _write(tmp_path, generated), TODAY)
    whole = records_of(proved)
    parts = [records_of(share) for share in shares_of(proved, 3)]
    assert all(part.claims for part in parts)
    assert {m: r for part in parts for m, r in part.members.items()} == whole.members
    assert sorted(e for part in parts for e in part.enrollments) == sorted(whole.enrollments)
    assert sorted(c for part in parts for c in part.claims) == sorted(whole.claims)
    for index, part in enumerate(parts):
        assert all(Share(index, 3).owns(m) for m in part.members)
        assert {e.member_id for e in part.enrollments} | {c.member_id for c in part.claims} <= set(part.members)


def test_first_holders_are_the_first_claims_in_evaluation_order_of_each_shared_invoice(hangzhou, generated, tmp_path):
    """SPEC §4: a later claim (by discharge date, then claim id) with the same invoice is the duplicate; an
    invoice only one claim carries has no holder to settle."""
    from claims.intake.columnar import first_holders, prove_inputs, records_of

    header, *rows = generated["claims"]
    claim_id, invoice = header.index("claim_id"), header.index("invoice_no")
    first = next(row for row in rows if row[invoice])
    # the same invoice and discharge day as ``first``: the claim id decides (C… < ZZ…, A… < C…)
    later, earlier = [*first], [*first]
    later[claim_id], earlier[claim_id] = "ZZ-LATER", "A-EARLIER"
    tables = {**generated, "claims": [header, *rows, later, earlier]}
    proved = prove_inputs(hangzhou, _write(tmp_path, tables), TODAY)
    assert proved is not None
    expected: dict[str, list] = {}
    for claim in records_of(proved).claims:
        if claim.invoice_no:
            expected.setdefault(claim.invoice_no, []).append((claim.discharge_date, claim.claim_id))
    assert first_holders(proved.claims) == {number: min(held)[1] for number, held in expected.items() if len(held) > 1}
    assert first_holders(proved.claims)[first[invoice]] == "A-EARLIER"


def test_two_workers_in_a_process_where_polars_already_runs_write_the_same_csv(hangzhou, generated, tmp_path):
    """Forked workers cannot use polars' threads once this process started them: then the work is done
    here, and the CSV is the same bytes (the forked path is compared byte for byte in tests/cli/test_scale.py)."""
    from claims.bulk import calculate_csv

    paths = _write(tmp_path, generated)
    one = calculate_csv(hangzhou, paths["members"], paths["enrollments"], paths["claims"], TODAY, 1)
    two = calculate_csv(hangzhou, paths["members"], paths["enrollments"], paths["claims"], TODAY, 2)
    assert two == one and one.text.startswith("claim_id,member_id,period,item,benefit,amount,reason\n")
    assert one.lines == one.text.count("\n") - 1 and one.claims == len(generated["claims"]) - 1
