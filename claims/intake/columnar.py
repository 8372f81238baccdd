"""Columnar intake: the three CSV files of ``claims calculate`` read by polars and proved valid column by
column, without a Python object per cell until the records are built.

This is a fast path, never a second set of rules. It answers one question — *is every row of these files
certainly valid, and what records do they give?* — and returns ``None`` whenever it cannot prove that.
The caller then runs the row-by-row intake (``claims.intake.check_tables``), which finds and words every
problem exactly as before. So a file with a problem gets the same located Chinese messages, and a valid
file the same records, whichever path read it (tests/intake/test_columnar.py checks both).

How each column is proved valid:

* **Columns with few distinct values** (dates, items, periods, shares, event types, hospital levels,
  units, bank names, diagnosis and procedure codes): each distinct value goes once through the very
  pydantic field validator that the row path uses (the same lenient dates, codes, Chinese item names
  and "today"), and the result is mapped back onto the column.
* **Columns with many distinct values** (ids, names, ID numbers, accounts, phones, amounts, invoices):
  a vectorised test that the cell is in its plain form — a pattern the row path's rule accepts and turns
  into the same value (e.g. ``1234.5`` for money, an identifier without spaces). A cell in any other
  form (``¥1,234.50``, ``２０２５-06-01``…) makes the file go the row path, which reads it.
* **Checks across rows and files** (duplicated keys, unknown members, items and shares against the
  policy, cost parts adding up, dates in order) as vectorised predicates; any hit sends the file to the
  row path, which reports it.

CSV only (with the encodings and header aliases of the row path); XLSX and anything unusual (ragged
rows, quoted cells, more rows or columns than allowed) go the row path.
"""

from __future__ import annotations

import codecs
import typing
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import TypeAdapter, ValidationError

from claims.engine.model import Claim, Enrollment, Member
from claims.intake.checks import enrollment_problems
from claims.intake.columns import KINDS
from claims.intake.rows import EVENT_TYPES, LEVELS, _header
from claims.intake.schemas import CONFIG, IDENT, SCHEMAS, split_codes
from claims.intake.tables import MAX_CELL_CHARS, MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS, Table, decode_csv
from claims.policy.schema import Policy

# a distinct value is validated once when a column has at most this many of them (or a tenth of its rows)
FEW = 50_000

IDENT_PLAIN = IDENT  # an identifier as the row path accepts it, with no surrounding spaces to strip
ASCII_CODE = r"^[!-~](?:[ -~]*[!-~])?$"  # printable ASCII without surrounding spaces: clean_code is identity
PRINTABLE = r"^[^\p{C}\p{Z}]+(?: [^\p{C}\p{Z}]+)*$"  # printable, single inner spaces: clean_text is identity
MONEY = r"^[0-9]{1,9}(?:\.[0-9]{1,2})?$"  # lenient.parse_money's fast form
ID_NUMBER = r"^[0-9]{17}[0-9X]$"
ACCOUNT = r"^[0-9]{8,40}$"
PHONE = r"^\+?[0-9][0-9\-]{4,19}$"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"  # GB 11643: the check character for the weighted sum modulo 11


class NotProved(Exception):
    """Something this path cannot prove valid: the row path decides (and words any problem)."""


def _field_adapters(kind: str) -> dict[str, TypeAdapter]:
    hints = typing.get_type_hints(SCHEMAS[kind], include_extras=True)
    adapters = {}
    for name, hint in hints.items():
        if name.startswith("__"):
            continue
        if typing.get_origin(hint) is typing.NotRequired:
            hint = typing.get_args(hint)[0]
        adapters[name] = TypeAdapter(hint, config=CONFIG)
    return adapters


_ADAPTERS: dict[str, dict[str, TypeAdapter]] = {}


def adapter(kind: str, field: str) -> TypeAdapter:
    if kind not in _ADAPTERS:
        _ADAPTERS[kind] = _field_adapters(kind)
    return _ADAPTERS[kind][field]


# ── reading ───────────────────────────────────────────────────────────────────────────────────────────

def read_frame(path: str | Path, kind: str):
    """(polars DataFrame of the fields the file has, as text, in file order) or NotProved."""
    import polars as pl

    path = Path(path)
    if path.suffix.lower() not in (".csv", ".txt") or not path.is_file():
        raise NotProved
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES or b'"' in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        raise NotProved  # quoted cells and lone carriage returns: csv.reader's reading is the reference
    try:
        text, encoding = decode_csv(data)
    except UnicodeDecodeError:
        raise NotProved from None
    if encoding != "UTF-8" or data.startswith(codecs.BOM_UTF8):
        data = text.encode("utf-8")
    del text
    try:
        frame = pl.read_csv(data, has_header=False, infer_schema=False, quote_char=None)
    except Exception:  # ragged rows, anything polars does not read as csv.reader would: the row path
        raise NotProved from None
    if frame.height < 1 or frame.width > MAX_COLUMNS or frame.height > MAX_ROWS + 1:
        raise NotProved
    header = [str(cell if cell is not None else "").strip() for cell in frame.row(0)]
    positions, _, problems = _header(Table(str(path), header, []), KINDS[kind])
    if problems:
        raise NotProved
    body = frame.slice(1)
    # a row with no cell at all is skipped, as the row path does; any other row must be complete
    body = body.filter(~pl.all_horizontal(pl.all().is_null()))
    if (body.select(pl.all().str.len_chars().max()).max_horizontal().item() or 0) > MAX_CELL_CHARS * 4:
        raise NotProved  # csv.reader's field limit: the row path refuses the file
    names = body.columns
    return body.select([pl.col(names[index]).alias(field) for field, index in positions.items()])


# ── proving columns ───────────────────────────────────────────────────────────────────────────────────

def _few(column, kind: str, field: str, today: date | None, dtype, convert: Callable[[Any], Any] = lambda v: v):
    """A column with few distinct values, each validated by the row path's own field validator."""
    import polars as pl

    distinct = column.drop_nulls().unique()
    if distinct.len() > max(FEW, column.len() // 10):
        raise NotProved
    check = adapter(kind, field)
    mapping = {}
    for value in distinct.to_list():
        try:
            mapping[value] = convert(check.validate_python(value, context={"today": today}))
        except ValidationError:
            raise NotProved from None
    if dtype is pl.Object:
        return mapping  # values polars cannot hold (tuples of codes): records look each cell up
    return column.replace_strict(mapping, default=None, return_dtype=dtype)


def _matches(column, pattern: str, max_chars: int | None = None, min_chars: int = 1) -> None:
    ok = column.str.contains(pattern)
    if max_chars is not None:
        length = column.str.len_chars()
        ok = ok & (length <= max_chars) & (length >= min_chars)
    if not ok.fill_null(True).all():  # nulls: optional cells; required ones are checked by _required
        raise NotProved


def _required(frame, fields: tuple[str, ...]) -> None:
    for field in fields:
        if field not in frame.columns or frame[field].null_count():
            raise NotProved


def _text(frame, field: str):
    """An optional text column, "" where empty or absent."""
    import polars as pl

    if field not in frame.columns:
        return pl.repeat("", frame.height, dtype=pl.String, eager=True).alias(field)
    return frame[field].fill_null("")


def _fen(column):
    """Plain money text (``MONEY``) as integer fen, exactly (no float at any point)."""
    import polars as pl

    parts = column.str.split_exact(".", 1)
    whole = parts.struct.field("field_0").cast(pl.Int64)
    cents = parts.struct.field("field_1").fill_null("").str.pad_end(2, "0").cast(pl.Int64)
    return whole * 100 + cents


def _two_places(column):
    """Plain money text with two places, as ``parse_money`` gives it (1234.5 → 1234.50); a Decimal of it keeps
    them."""
    import polars as pl

    dot = column.str.find(".", literal=True)
    places = (column.str.len_bytes() - dot - 1).fill_null(0)
    return pl.select(pl.when(dot.is_null()).then(column + ".00").when(places == 1).then(column + "0")
                     .otherwise(column)).to_series()


def _records(cls, *columns) -> list:
    """NamedTuples from columns, built in C (``tuple.__new__``: no Python frame per record)."""
    return list(map(partial(tuple.__new__, cls), zip(*columns, strict=True)))


# ── the three files ───────────────────────────────────────────────────────────────────────────────────

def members_of(frame, today: date | None):
    """The members file proved valid: a frame of ``Member``'s fields, typed."""
    import polars as pl

    _required(frame, ("member_id", "name", "id_number", "unit"))
    _matches(frame["member_id"], IDENT_PLAIN)
    _matches(frame["name"], PRINTABLE, 100)
    ids = frame["id_number"]
    _matches(ids, ID_NUMBER)
    total = sum(ids.str.slice(i, 1).cast(pl.Int64) * weight for i, weight in enumerate(ID_WEIGHTS)) % 11
    expected = pl.Series(list(ID_CHECK)).gather(total)
    if not (ids.str.slice(17, 1) == expected).all():
        raise NotProved
    births = ids.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)
    if births.null_count() or (births.dt.year() < 1).any() or (today is not None and (births > today).any()):
        raise NotProved
    if frame["member_id"].is_duplicated().any():
        raise NotProved
    units = _few(frame["unit"], "members", "unit", today, pl.String)
    banks = _few(frame["bank_name"], "members", "bank_name", today, pl.String) if "bank_name" in frame.columns \
        else None
    if "bank_account" in frame.columns:
        _matches(frame["bank_account"], ACCOUNT)
    if "phone" in frame.columns:
        _matches(frame["phone"], PHONE)
    genders = pl.select(pl.when(ids.str.slice(16, 1).cast(pl.Int64) % 2 == 1).then(pl.lit("male"))
                        .otherwise(pl.lit("female"))).to_series()
    return pl.DataFrame({"member_id": frame["member_id"], "name": frame["name"], "id_number": ids, "gender": genders,
                         "birth_date": births, "unit": units,
                         "bank_name": banks.fill_null("") if banks is not None else _text(frame, "bank_name"),
                         "bank_account": _text(frame, "bank_account"), "phone": _text(frame, "phone")})


def enrollments_of(frame, policy: Policy | Callable[[int], Policy | None], member_ids: set[str],
                   today: date | None):
    """The enrollments file proved valid: a frame of ``Enrollment``'s fields, items as codes."""
    import polars as pl

    _required(frame, ("member_id", "item", "period", "start_date"))
    _matches(frame["member_id"], IDENT_PLAIN)
    items = _few(frame["item"], "enrollments", "item", today, pl.String)
    periods = _few(frame["period"], "enrollments", "period", today, pl.Int64)
    shares = (_few(frame["shares"], "enrollments", "shares", today, pl.Int64).fill_null(1)
              if "shares" in frame.columns else pl.repeat(1, frame.height, dtype=pl.Int64, eager=True))
    starts = _few(frame["start_date"], "enrollments", "start_date", today, pl.Date)
    work = pl.DataFrame({"member_id": frame["member_id"], "item": items, "period": periods, "shares": shares,
                         "start_date": starts})
    # items by Chinese name → code, and every distinct (item, period, shares, start) against the policy,
    # by the rule the row path applies to each row (checks.resolve_items, checks.enrollment_problems)
    codes = {}
    for item, period, share, start in work.select("item", "period", "shares", "start_date").unique().iter_rows():
        rules = policy(period) if callable(policy) else policy
        if rules is None:
            raise NotProved
        code = _item_code(rules, item)
        if enrollment_problems(rules, Enrollment("", code, period, share, start)):
            raise NotProved
        codes[(item, period)] = code
    resolved = [codes[key] for key in zip(work["item"].to_list(), work["period"].to_list(), strict=True)]
    work = work.with_columns(item=pl.Series(resolved, dtype=pl.String))
    if work.select(pl.struct("member_id", "item", "period").is_duplicated().any()).item():
        raise NotProved
    if not work["member_id"].is_in(pl.Series(list(member_ids), dtype=pl.String).implode()).all():
        raise NotProved
    return work


def _item_code(rules: Policy, item: str) -> str:
    import unicodedata

    if rules.item(item) is not None:
        return item
    by_name = {unicodedata.normalize("NFKC", i.name).strip(): i.code for i in rules.items}
    return by_name.get(unicodedata.normalize("NFKC", item), item)


MONEY_FIELDS = ("total_cost", "insurance_paid", "self_pay_in_scope", "self_pay_out_of_scope")


def claims_of(frame, member_ids: set[str], today: date | None):
    """The claims file proved valid: a frame of ``Claim``'s fields (money as text with two places, diagnoses
    and procedures as cell text) and the codes each such cell stands for."""
    import polars as pl

    _required(frame, ("claim_id", "member_id", "event_type", "admission_date", "discharge_date", "hospital_level",
                      "diagnoses", *MONEY_FIELDS, "submitted_date"))
    _matches(frame["claim_id"], IDENT_PLAIN)
    _matches(frame["member_id"], IDENT_PLAIN)
    if frame["claim_id"].is_duplicated().any():
        raise NotProved
    if not frame["member_id"].is_in(pl.Series(list(member_ids), dtype=pl.String).implode()).all():
        raise NotProved
    events = _few(frame["event_type"], "claims", "event_type", today, pl.String, lambda v: EVENT_TYPES.get(v, v))
    levels = _few(frame["hospital_level"], "claims", "hospital_level", today, pl.Int64, lambda v: LEVELS.get(v, v))
    day = {field: _few(frame[field], "claims", field, today, pl.Date)
           for field in ("admission_date", "discharge_date", "diagnosis_date", "submitted_date")
           if field in frame.columns}
    codes = {"diagnoses": _few(frame["diagnoses"], "claims", "diagnoses", today, pl.Object, split_codes),
             "procedures": (_few(frame["procedures"], "claims", "procedures", today, pl.Object, split_codes)
                            if "procedures" in frame.columns else {})}
    if "invoice_no" in frame.columns:
        _matches(frame["invoice_no"], ASCII_CODE, 60)
    fen = {}
    for field in MONEY_FIELDS:
        _matches(frame[field], MONEY)
        fen[field] = _fen(frame[field])
    if not (fen["insurance_paid"] + fen["self_pay_in_scope"] + fen["self_pay_out_of_scope"] == fen["total_cost"]).all():
        raise NotProved
    admission, discharge, submitted = day["admission_date"], day["discharge_date"], day["submitted_date"]
    diagnosis = day.get("diagnosis_date")
    if (discharge < admission).any() or (admission > submitted).any() or (discharge > submitted).any():
        raise NotProved
    if diagnosis is not None and (diagnosis > submitted).fill_null(False).any():
        raise NotProved
    diagnosed = diagnosis.fill_null(admission) if diagnosis is not None else admission
    proved = pl.DataFrame({
        "claim_id": frame["claim_id"], "member_id": frame["member_id"], "event_type": events,
        "admission_date": admission, "discharge_date": discharge, "diagnosis_date": diagnosed,
        "hospital_level": levels, "diagnoses": frame["diagnoses"],
        "procedures": frame["procedures"] if "procedures" in frame.columns else pl.repeat(
            None, frame.height, dtype=pl.String, eager=True),
        **{field: _two_places(frame[field]) for field in MONEY_FIELDS},
        "invoice_no": _text(frame, "invoice_no"), "submitted_date": submitted})
    return proved, codes


class Proved(NamedTuple):
    """The three files proved valid, as typed columns: records are built from them for every member, or
    for one share of the members (each worker of ``claims calculate --workers`` builds its own)."""

    members: Any  # polars DataFrame of Member's fields
    enrollments: Any  # … of Enrollment's
    claims: Any  # … of Claim's, money as text, codes as cell text
    codes: dict[str, dict[str, tuple[str, ...]]]  # "diagnoses"/"procedures" → cell text → codes


def prove_inputs(policy: Policy, paths: dict[str, str | Path], today: date | None) -> Proved | None:
    """The three files proved valid here, or None when the row path must decide."""
    try:
        frames = {kind: read_frame(paths[kind], kind) for kind in ("members", "enrollments", "claims")}
        members = members_of(frames.pop("members"), today)
        ids = set(members["member_id"].to_list())
        enrollments = enrollments_of(frames.pop("enrollments"), policy, ids, today)
        claims, codes = claims_of(frames.pop("claims"), ids, today)
    except NotProved:
        return None
    except Exception:  # anything this path did not foresee (polars on odd data): never a traceback, the row path decides
        return None
    return Proved(members, enrollments, claims, codes)


def member_records(members) -> list[Member]:
    return _records(Member, *(members[name].to_list() for name in Member._fields))


def enrollment_records(enrollments) -> list[Enrollment]:
    return _records(Enrollment, *(enrollments[name].to_list() for name in Enrollment._fields))


def claim_records(claims, codes: dict[str, dict[str, tuple[str, ...]]]) -> list[Claim]:
    """Claims of a proved frame: codes looked up by cell text, money as Decimal with two places."""
    diagnoses, procedures = codes["diagnoses"], codes["procedures"]
    columns = {name: claims[name].to_list() for name in Claim._fields}
    columns["diagnoses"] = [diagnoses[cell] for cell in columns["diagnoses"]]
    columns["procedures"] = [() if cell is None else procedures[cell] for cell in columns["procedures"]]
    for field in MONEY_FIELDS:
        columns[field] = list(map(Decimal, columns[field]))
    return _records(Claim, *columns.values())


def records_of(proved: Proved):
    """``Inputs`` of proved files: the records of every member in them."""
    from claims.intake import Inputs

    return Inputs(dict(zip(proved.members["member_id"].to_list(), member_records(proved.members), strict=True)),
                  enrollment_records(proved.enrollments), claim_records(proved.claims, proved.codes))


def in_engine_order(proved: Proved) -> Proved:
    """Enrollments by (member, item, period) and claims by (discharge date, claim id), sorted by polars: the
    engine sorts them the same way (``CoverIndex``, ``evaluation_order``), and its sorts then find them in
    order (one pass). Polars orders text by UTF-8 bytes, which is Python's order of the same strings."""
    return proved._replace(enrollments=proved.enrollments.sort("member_id", "item", "period"),
                           claims=proved.claims.sort("discharge_date", "claim_id"))


def shares_of(proved: Proved, count: int) -> list[Proved]:
    """The proved files split into ``count`` shares of the members (``Share``), each with its members'
    enrollments and claims."""
    import polars as pl

    from claims.intake import Share

    member_ids = proved.members["member_id"].to_list()
    parts = []
    for index in range(count):
        share = Share(index, count)
        mine = pl.Series([m for m in member_ids if share.owns(m)], dtype=pl.String).implode()
        keep = pl.col("member_id").is_in(mine)
        parts.append(Proved(proved.members.filter(keep), proved.enrollments.filter(keep), proved.claims.filter(keep),
                            proved.codes))
    return parts


def first_holders(claims) -> dict[str, str]:
    """Each invoice carried by more than one claim → its first holder in evaluation order (discharge date,
    claim id); an invoice only one claim carries makes no duplicate and needs no holder."""
    import polars as pl

    shared = (claims.filter((pl.col("invoice_no") != "") & pl.col("invoice_no").is_duplicated())
              .sort("discharge_date", "claim_id").unique("invoice_no", keep="first", maintain_order=True))
    return dict(zip(shared["invoice_no"].to_list(), shared["claim_id"].to_list(), strict=True))


def read_inputs_fast(policy: Policy, paths: dict[str, str | Path], today: date | None):
    """``Inputs`` of the three files when every row is proved valid here; None when the row path must decide."""
    proved = prove_inputs(policy, paths, today)
    return None if proved is None else records_of(proved)


def read_records_fast(path: str | Path, kind: str, today: date | None, member_ids: set[str] | None = None,
                      policy: Policy | Callable[[int], Policy | None] | None = None) -> list | None:
    """The records of one CSV file of ``kind`` (``claims import``), in file order, when every row is proved
    valid here; None when the row path must decide (and word any problem). Enrollments and claims are checked
    against ``member_ids`` (the members already stored), enrollments against ``policy`` (one policy, or the
    policy of each period)."""
    try:
        frame = read_frame(path, kind)
        if kind == "members":
            return member_records(members_of(frame, today))
        if kind == "enrollments":
            if policy is None:
                return None
            return enrollment_records(enrollments_of(frame, policy, member_ids or set(), today))
        if kind == "claims":
            return claim_records(*claims_of(frame, member_ids or set(), today))
    except Exception:  # NotProved, or anything this path did not foresee: the row path decides
        return None
    return None
