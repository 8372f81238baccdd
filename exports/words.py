"""Words and figures as a clerk or member reads them: dates without leading zeros, Beijing time, hospital
levels as 一级/二级/三级, and terminal columns aligned by display width (a Chinese character takes two)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "北京时间")
LEVEL_NAMES = {0: "未定级", 1: "一级", 2: "二级", 3: "三级"}


def cn_date(day: date) -> str:
    """2025年6月10日 (no leading zeros)."""
    return f"{day.year}年{day.month}月{day.day}日"


def beijing(moment: datetime) -> datetime:
    """A stored time (UTC; naive values are taken as UTC) in Beijing time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING)


def beijing_text(moment: datetime) -> str:
    """2025-06-10 14:05（北京时间）."""
    return f"{beijing(moment):%Y-%m-%d %H:%M}（北京时间）"


def level_name(level) -> str:
    try:
        return LEVEL_NAMES.get(int(level), f"{level}级")
    except (TypeError, ValueError):
        return str(level)


def width(text: str) -> int:
    """Columns a terminal gives ``text``: wide and full-width characters take two, combining marks none."""
    total = 0
    for ch in str(text):
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def pad(text, columns: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``columns`` display columns (left, right ``>`` or centre ``^``)."""
    text = str(text)
    gap = max(columns - width(text), 0)
    if align == ">":
        return " " * gap + text
    if align == "^":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def table(header: list[str], rows: list[list], align: str = "") -> list[str]:
    """Rows as aligned text lines; ``align`` gives one of ``<`` or ``>`` per column (default left)."""
    columns = [header, *rows]
    widths = [max(width(str(row[i])) for row in columns) for i in range(len(header))]
    aligns = align or "<" * len(header)
    return ["  ".join(pad(row[i], widths[i], aligns[i]) for i in range(len(header))).rstrip() for row in columns]
