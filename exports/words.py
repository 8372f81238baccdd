"""Words and figures as a clerk or member reads them: dates without leading zeros, Beijing time, hospital
levels as 一级/二级/三级, and terminal columns aligned by display width (a Chinese character takes two)."""

from __future__ import annotations

import re
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


# Line breaking for Chinese text (禁则): no line starts with closing punctuation, none ends with opening.
CANNOT_START = set("，。、；：？！）》」』】〕〉”’…—·％‰℃,.;:?!)]}%")
CANNOT_END = set("（《「『【〔〈“‘([{¥￥$")


def _tokens(text: str) -> list[str]:
    """Latin words and numbers (1,234.50, C54.1, 2025) stay whole; every other character is its own token."""
    out: list[str] = []
    for ch in text:
        if out and ch.isascii() and not ch.isspace() and out[-1][-1].isascii() and not out[-1][-1].isspace() \
                and (ch.isalnum() or ch in ".,-_/:%*'") and (out[-1][-1].isalnum() or out[-1][-1] in ".,-_/:%*'"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def break_lines(text: str, measure, available: float) -> list[str]:
    """``text`` broken into lines no wider than ``available`` (``measure`` gives a string's width), where no
    line starts with closing punctuation (，。、）” …) and none ends with opening punctuation (（“ …): the
    characters around such a break move to the next line together."""
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        tokens = _tokens(paragraph)
        start = 0
        while start < len(tokens):
            while start < len(tokens) and tokens[start] == " ":  # no line starts with a space
                start += 1
            end, used = start, 0.0
            while end < len(tokens) and (used + measure(tokens[end]) <= available or end == start):
                used += measure(tokens[end])
                end += 1
            if end < len(tokens):
                cut = end
                while cut > start + 1 and (tokens[cut][0] in CANNOT_START or tokens[cut - 1][-1] in CANNOT_END):
                    cut -= 1
                if cut > start + 1 or tokens[end][0] not in CANNOT_START:
                    end = cut
            line = "".join(tokens[start:end]).rstrip(" ")
            if line or start >= len(tokens):
                lines.append(line)
            start = end
        if not tokens:
            lines.append("")
    return lines


_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def cn_dates_in(text: str) -> str:
    """Every ISO date in ``text`` (stored explanations say 2025-06-10) written 2025年6月10日."""
    return _ISO_DATE.sub(lambda m: f"{int(m[1])}年{int(m[2])}月{int(m[3])}日", text)


def beijing_today() -> date:
    """Today's date in Beijing (the date printed on letters and payout lists), whatever the machine's zone."""
    return datetime.now(BEIJING).date()
