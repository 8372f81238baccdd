"""Bank transfer files from templates that are data (``mappings/bank/*.yaml``): one row per member.

A template names its format (csv or xlsx), encoding, sheet, the columns (header and value), the memo and
the largest file a bank portal takes (``max_bytes``: larger files are split into -1, -2 …). A new bank's
template is one more YAML file in ``mappings/bank/`` or anywhere (``--template path/to/bank.yaml``).

Values a column can take: account, name, amount, memo, bank_name, member_id, unit, phone, seq, claims.
The memo may use {batch}, {period}, {claims}, {member_id}, {name}.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from claims.money import fmt
from claims.problems import Problem, ProblemsFound
from claims.workflow.bank import Selection, Transfer
from claims.workflow.errors import Refusal
from exports.safety import atomic_output, csv_text, text_cell

TEMPLATES = Path(__file__).resolve().parent.parent / "mappings" / "bank"
VALUES = ("account", "name", "amount", "memo", "bank_name", "member_id", "unit", "phone", "seq", "claims")
DEFAULT = "generic"


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    file: str
    format: str
    encoding: str
    sheet: str
    max_bytes: int | None
    columns: tuple[tuple[str, str], ...]
    memo: str


def available() -> list[str]:
    return sorted(p.stem for p in TEMPLATES.glob("*.yaml"))


def load_template(name_or_path: str | None) -> Template:
    name_or_path = name_or_path or DEFAULT
    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") and path.exists()):
        path = TEMPLATES / f"{name_or_path}.yaml"
    if not path.exists():
        raise Refusal("BANK_TEMPLATE_UNKNOWN", f"银行模板“{name_or_path}”不存在；可用：{'、'.join(available())}，"
                                               "或给出模板 YAML 文件的路径")
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise ProblemsFound([Problem("BANK_TEMPLATE_SYNTAX", "银行模板不是有效的 YAML", where)]) from None
    problems = []
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list) or not data["columns"]:
        raise ProblemsFound([Problem("BANK_TEMPLATE_INVALID", "银行模板须有 columns: 列表（header 与 value）", where)])
    columns = []
    for number, column in enumerate(data["columns"], start=1):
        if not isinstance(column, dict) or column.get("value") not in VALUES or not column.get("header"):
            problems.append(Problem("BANK_TEMPLATE_COLUMN", f"第 {number} 列应为 {{header: 列名, value: 取值}}，"
                                    f"取值可为 {'、'.join(VALUES)}", where, None, f"columns[{number}]"))
            continue
        columns.append((str(column["header"]), str(column["value"])))
    form = str(data.get("format", "csv")).lower()
    if form not in ("csv", "xlsx"):
        problems.append(Problem("BANK_TEMPLATE_FORMAT", f"format 应为 csv 或 xlsx，而不是“{form}”", where, None, "format"))
    if problems:
        raise ProblemsFound(problems)
    max_bytes = data.get("max_bytes")
    return Template(path.stem, str(data.get("name") or path.stem), where, form, str(data.get("encoding") or "utf-8-sig"),
                    str(data.get("sheet") or "Sheet1")[:31], int(max_bytes) if max_bytes else None, tuple(columns),
                    str(data.get("memo") or "职工互助补助 批次{batch}"))


def _values(template: Template, selection: Selection, seq: int, transfer: Transfer) -> dict[str, str]:
    member, batch = transfer.member, selection.data.batch
    claims = "、".join(transfer.claim_ids)
    memo = template.memo.format(batch=batch.id, period=batch.period, claims=claims, member_id=member.member_id,
                                name=member.name)
    return {"account": "".join(member.bank_account.split()), "name": member.name, "amount": fmt(transfer.amount),
            "memo": memo, "bank_name": member.bank_name or "", "member_id": member.member_id, "unit": member.unit,
            "phone": member.phone or "", "seq": str(seq), "claims": claims}


def bank_rows(template: Template, selection: Selection) -> list[list[str]]:
    return [[values[value] for _, value in template.columns]
            for seq, transfer in enumerate(selection.transfers, start=1)
            for values in (_values(template, selection, seq, transfer),)]


def check_encoding(template: Template, selection: Selection, encoding: str, out: Path) -> None:
    """A name a bank's encoding cannot carry is refused, naming the member, before anything is written."""
    problems = []
    for row, transfer in zip(bank_rows(template, selection), selection.transfers, strict=True):
        for (header, _), text in zip(template.columns, row, strict=True):
            try:
                text.encode(encoding)
            except UnicodeEncodeError as error:
                problems.append(Problem("BANK_ENCODING", f"会员 {transfer.member.member_id}（{transfer.member.name}）的"
                                        f"{header}“{text}”含 {encoding.upper()} 无法表示的字“{text[error.start:error.end]}”；"
                                        "请改用 UTF-8 或在网银中手工录入该笔", str(out), None, header))
                break
    if problems:
        raise ProblemsFound(problems)


def write_bank_file(template: Template, selection: Selection, out: str | Path,
                    encoding: str | None = None) -> list[Path]:
    """Write the selection's transfers; returns the files written (several when split by size)."""
    out = Path(out)
    rows = bank_rows(template, selection)
    header = [h for h, _ in template.columns]
    if template.format == "csv":
        encoding = encoding or template.encoding
        check_encoding(template, selection, encoding, out)
        with atomic_output(out) as temporary, temporary.open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
            writer.writerow(header)
            writer.writerows([[csv_text(v) for v in row] for row in rows])
        return [out]
    return _write_xlsx(template, header, rows, out)


def _write_xlsx(template: Template, header: list[str], rows: list[list[str]], out: Path) -> list[Path]:
    """One workbook, or — when it would exceed the template's size limit — parts of at most that size."""
    _xlsx(template, header, rows, out)
    size = out.stat().st_size
    if template.max_bytes is None or size <= template.max_bytes:
        return [out]
    parts = max(2, math.ceil(size / (template.max_bytes * 0.9)))
    while True:
        per_part = math.ceil(len(rows) / parts)
        if per_part < 1:
            raise Refusal("BANK_FILE_TOO_LARGE", f"单笔转账的文件已超过 {template.max_bytes} 字节，无法拆分")
        paths = [out.with_name(f"{out.stem}-{n}{out.suffix}") for n in range(1, math.ceil(len(rows) / per_part) + 1)]
        for index, path in enumerate(paths):
            _xlsx(template, header, rows[index * per_part:(index + 1) * per_part], path)
        if all(p.stat().st_size <= template.max_bytes for p in paths):
            out.unlink()
            return paths
        for path in paths:
            path.unlink()
        parts += max(1, parts // 4)


def _xlsx(template: Template, header: list[str], rows: list[list[str]], out: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(template.sheet)
    sheet.append(_texts(sheet, header))
    for row in rows:
        sheet.append(_texts(sheet, row))  # accounts and amounts as text: nothing for Excel to round
    with atomic_output(out, suffix=".xlsx") as temporary:
        book.save(temporary)


def _texts(sheet, values) -> list:
    """A row whose strings are stored as text, never as a formula (the shared exports.safety rule)."""
    return [text_cell(sheet, value) for value in values]
