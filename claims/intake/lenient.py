"""Lenient cell parsing: what grassroots unions really type, turned into exact values or a coded refusal.

Small public functions, reused by every reader of outside files (members, enrollments, claims, and the
medical-insurance settlement lists). Each takes one cell as a reader gives it (text from CSV; text, int,
float, date or datetime from XLSX) and returns the value, or raises :class:`CellError` with a stable code
and a Chinese message that names what was wrong (the caller adds file:row:column).

The rules, and why, are written down in docs/intake.md.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

__all__ = ["CellError", "MAX_MONEY", "clean_code", "clean_text", "key_text", "parse_date", "parse_money", "refuse_number_cell"]


class CellError(ValueError):
    """One cell refused: a stable code and a Chinese message (without the location)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"[{code}] {message}")
        self.code, self.message = code, message


# ── text ──────────────────────────────────────────────────────────────────────────────────────────────

# characters that change how text is shown (bidirectional overrides) or hide text (zero-width): a name
# holding them prints differently in a letter than it reads in the bank file, so they are refused
_INVISIBLE = {
    "\u200b": "零宽空格", "\u200c": "零宽非连接符", "\u200d": "零宽连接符", "\u2060": "零宽不换行符",
    "\ufeff": "零宽不换行空格（BOM）", "\u200e": "从左向右标记", "\u200f": "从右向左标记", "\u061c": "阿拉伯字母标记",
    "\u202a": "从左向右嵌入", "\u202b": "从右向左嵌入", "\u202c": "方向格式结束", "\u202d": "从左向右覆盖",
    "\u202e": "从右向左覆盖", "\u2066": "从左向右隔离", "\u2067": "从右向左隔离", "\u2068": "首字符强方向隔离",
    "\u2069": "方向隔离结束", "\u00ad": "软连字符",
}
# spaces a keyboard or a copy from a web page brings: normalised to an ordinary space, then trimmed
_SPACES = {"\u00a0": " ", "\u3000": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " "}


def _describe(char: str) -> str:
    name = _INVISIBLE.get(char)
    if name is None:
        name = "空字符（NUL）" if char == "\x00" else ("换行符" if char in "\r\n" else
                                                   ("制表符" if char == "\t" else "控制字符"))
    return f"U+{ord(char):04X}（{name}）"


def clean_text(value: object) -> str:
    """A text cell trimmed; ordinary-looking spaces made ordinary; control, zero-width and direction-override
    characters refused (``INPUT_HIDDEN_CHARACTER``), naming the character and its position."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text.strip()
    for old, new in _SPACES.items():
        text = text.replace(old, new)
    text = text.strip()
    for position, char in enumerate(text, start=1):
        if char in _INVISIBLE or unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp"):
            raise CellError("INPUT_HIDDEN_CHARACTER",
                            f"第 {position} 个字符是看不见的 {_describe(char)}，可能使打印、转账与所见不一致；请删除后重新填写")
    return text


def clean_code(value: object) -> str:
    """A code or number typed as text (member number, ID number, bank account, ICD code, invoice number):
    full-width letters and digits (ＡＢ１２) normalised by NFKC, then :func:`clean_text`."""
    if value.__class__ is str and value.isascii() and value.isprintable():  # the common case, fast
        return value.strip()
    text = value if isinstance(value, str) else str(value)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return clean_text(text)


def key_text(value: object) -> str:
    """A key (member number, claim number, invoice) compared as the row parser will read it, cheaply and
    without refusing: ＨＺ００１ and HZ001 are the same member."""
    text = str(value).strip()
    return text if text.isascii() else unicodedata.normalize("NFKC", text).strip()


def refuse_number_cell(value: object, label: str) -> object:
    """Identifiers that Excel stored as numbers are refused: past 15 digits a number cell has already lost
    its last digits (6217001234567890123 → 6217001234567889920), and any number cell loses leading zeros."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return value
    digits = len(str(int(value))) if value % 1 == 0 else 99  # a whole number (no float() on a cell value)
    lost = "末几位已丢失" if digits > 15 else "开头的 0 等可能已丢失"
    raise CellError("INPUT_NUMBER_CELL", f"{label}被 Excel 存成了数字，{lost}，请把该列设为文本后重新填写")


# ── dates ─────────────────────────────────────────────────────────────────────────────────────────────

_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME = re.compile(r"^(.*?\d)(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$")
_AMBIGUOUS = re.compile(r"^\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{2,4}$|^\d{2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}$")
EARLIEST = date(1900, 1, 1)


def parse_date(value: object, today: date | None = None) -> date:
    """A day from a date cell, a date-time (the time is dropped) or text: 2025-06-01, 2025-6-1, 2025/6/1,
    2025.6.1, 2025年6月1日, 20250601, each optionally followed by a time of day; full-width digits allowed.

    Refused: year-last or two-digit-year forms (6/1/2025, 01/06/2025, 25-6-1 — day and month cannot be told
    apart) ``INPUT_AMBIGUOUS_DATE``; days that do not exist (2025-02-30) or before 1900 ``INPUT_BAD_DATE``;
    a bare number that is not YYYYMMDD (an Excel serial such as 45809) ``INPUT_BAD_DATE``; with ``today``,
    a day after today ``INPUT_FUTURE_DATE``."""
    day = None
    if value.__class__ is str and len(value) == 10 and value[4] == "-" and value[7] == "-":  # the common case, fast
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
    if day is None:
        day = _date_of(value)
    if day < EARLIEST:
        raise CellError("INPUT_BAD_DATE", f"日期 {day.isoformat()} 早于 1900 年，不可能是本业务的日期")
    if today is not None and day > today:
        raise CellError("INPUT_FUTURE_DATE", f"日期 {day.isoformat()} 晚于今天（{today.isoformat()}），请核实")
    return day


def _date_of(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise CellError("INPUT_BAD_DATE", f"“{value}”不是日期")
    if isinstance(value, (int, float)):
        if value % 1 == 0 and 19000101 <= value <= 29991231:
            return _ymd(str(int(value)), *_COMPACT.match(str(int(value))).groups())
        raise CellError("INPUT_BAD_DATE", f"“{value}”是一个数字，不是日期；请把该列设为日期格式，或写成 2025-06-01")
    text = clean_code(value)
    timed = _TIME.match(text)
    if timed:
        text = timed.group(1)
    for pattern in (_YMD, _COMPACT):
        match = pattern.match(text)
        if match:
            return _ymd(text, *match.groups())
    if _AMBIGUOUS.match(text):
        raise CellError("INPUT_AMBIGUOUS_DATE",
                        f"“{text}”无法确定年月日的顺序（年份须写在最前且为四位）；请写成 2025-06-01")
    raise CellError("INPUT_BAD_DATE", f"“{_short(text)}”不是有效日期（应如 2025-06-01、2025/6/1 或 2025年6月1日）")


def _ymd(text: str, year: str, month: str, day: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise CellError("INPUT_BAD_DATE", f"“{_short(text)}”这一天不存在") from None


# ── money ─────────────────────────────────────────────────────────────────────────────────────────────

_FEN = Decimal("0.01")
MAX_MONEY = Decimal("999999999.99")  # under 10 亿元: far above any medical bill, far below integer-fen limits
_SIMPLE = re.compile(r"\d{1,9}(?:\.\d{1,2})?")  # 0 … 999999999.99 in at most two places: nothing to check
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
_PLAIN = re.compile(r"^-?\d+(?:\.\d*)?$|^-?\.\d+$")


def parse_money(value: object) -> Decimal:
    """An amount in 元 as an exact Decimal (never through float): 1234.5, 1,234.50, ¥1,234.50, ￥1234.50,
    1234.50元, full-width digits (１２３４.５０), number cells.

    Refused: scientific notation (2.4E+3, an Excel display artefact) ``INPUT_BAD_MONEY``; misplaced
    thousands separators (1,23.4) ``INPUT_BAD_MONEY``; more than two decimals ``INPUT_MONEY_PRECISION``;
    negatives ``INPUT_NEGATIVE_MONEY``; more than :data:`MAX_MONEY` ``INPUT_MONEY_TOO_LARGE``."""
    if value.__class__ is str and _SIMPLE.fullmatch(value):  # the common case, fast
        return Decimal(value).quantize(_FEN)
    if isinstance(value, bool):
        raise CellError("INPUT_BAD_MONEY", f"“{value}”不是金额")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value)) if abs(value) < 1e15 else Decimal(int(value)) if value == value else None
        if amount is None or not amount.is_finite():
            raise CellError("INPUT_BAD_MONEY", f"“{value}”不是金额")
    elif isinstance(value, Decimal):
        amount = value
    else:
        amount = _money_text(clean_code(value))
    if not amount.is_finite():
        raise CellError("INPUT_BAD_MONEY", f"“{value}”不是金额")
    if amount < 0:
        raise CellError("INPUT_NEGATIVE_MONEY", f"金额不能为负数：{_short(str(value))}")
    if amount > MAX_MONEY:
        raise CellError("INPUT_MONEY_TOO_LARGE", f"金额 {_short(str(value))} 超过上限 999,999,999.99 元，请核实")
    if amount != amount.quantize(_FEN, rounding="ROUND_DOWN"):
        raise CellError("INPUT_MONEY_PRECISION", f"金额最多两位小数（到分）：{_short(str(value))}")
    return amount.quantize(_FEN)


def _money_text(text: str) -> Decimal:
    shown = _short(text)
    body = text.replace(" ", "")
    for prefix in ("¥", "￥", "RMB", "CNY", "人民币"):
        if body.upper().startswith(prefix):
            body = body[len(prefix):]
            break
    if body.endswith("元"):
        body = body[:-1]
    negative = body.startswith("-")
    digits = body[1:] if negative else body
    if "e" in digits.lower():
        raise CellError("INPUT_BAD_MONEY", f"“{shown}”是科学计数法，可能已被 Excel 舍入；请把该列设为数值（两位小数）后重新填写")
    if "," in digits:
        if not _GROUPED.match(digits):
            raise CellError("INPUT_BAD_MONEY", f"“{shown}”的千位分隔符位置不对（应如 1,234.50）")
        digits = digits.replace(",", "")
    if not _PLAIN.match(digits):
        raise CellError("INPUT_BAD_MONEY", f"“{shown}”不是金额（应如 1234.56、1,234.56 或 ¥1,234.56）")
    try:
        amount = Decimal(digits)
    except InvalidOperation:
        raise CellError("INPUT_BAD_MONEY", f"“{shown}”不是金额") from None
    return -amount if negative else amount


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
