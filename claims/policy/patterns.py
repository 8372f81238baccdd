"""ICD-10 diagnosis and ICD-9-CM-3 procedure code patterns (SPEC §2).

A pattern is a code prefix (``C50`` matches ``C50`` and ``C50.9``; ``68.4`` matches ``68.41``) or a range of
categories (``C00-C97`` matches every code whose category, its first three characters, lies in the range
inclusive). Codes are compared upper-cased with surrounding space removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# ICD-10 (GB/T 14396): a letter and two digits, then optionally a dot and up to six more characters
# (national extension codes such as C34.100x001 are written with a lower-case x; we upper-case first).
_ICD10 = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,8})?")
_ICD10_CATEGORY = re.compile(r"[A-Z][0-9]{2}")
# ICD-9-CM-3 procedures: two digits, then optionally a dot and one to four digits.
_ICD9 = re.compile(r"[0-9]{2}(\.[0-9]{1,4})?")
_ICD9_CATEGORY = re.compile(r"[0-9]{2}")


def normalize(code: str) -> str:
    return code.strip().upper()


def pattern_error(text: str) -> str | None:
    """Why ``text`` is not a code pattern, in Chinese, or None when it is one."""
    pattern = normalize(text)
    if "-" in pattern:
        low, _, high = pattern.partition("-")
        low, high = low.strip(), high.strip()
        same_kind = (_ICD10_CATEGORY.fullmatch(low) and _ICD10_CATEGORY.fullmatch(high)) or (
            _ICD9_CATEGORY.fullmatch(low) and _ICD9_CATEGORY.fullmatch(high))
        if not same_kind:
            return f"“{text}”不是有效的编码范围（范围两端须为三位类目如 C00-C97，或两位手术类目如 01-05）"
        if low > high:
            return f"编码范围“{text}”的起点大于终点"
        return None
    if _ICD10.fullmatch(pattern) or _ICD9.fullmatch(pattern):
        return None
    return f"“{text}”不是有效的 ICD-10 诊断编码或 ICD-9-CM-3 手术编码"


@dataclass(frozen=True, slots=True)
class CodeSet:
    """A compiled list of patterns: prefixes and category ranges."""

    prefixes: tuple[str, ...]
    ranges: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, patterns: list[str] | tuple[str, ...]) -> CodeSet:
        prefixes, ranges = [], []
        for raw in patterns:
            pattern = normalize(raw)
            if "-" in pattern:
                low, _, high = pattern.partition("-")
                ranges.append((low.strip(), high.strip()))
            else:
                prefixes.append(pattern)
        return cls(tuple(prefixes), tuple(ranges))

    def __bool__(self) -> bool:
        return bool(self.prefixes or self.ranges)

    def matches(self, code: str) -> bool:
        """``code`` must already be normalized."""
        if self.prefixes and code.startswith(self.prefixes):
            return True
        if self.ranges:
            category = code[:3] if code[:1].isalpha() else code[:2]
            for low, high in self.ranges:
                if len(low) == len(category) and low <= category <= high:
                    return True
        return False

    def first_match(self, codes: tuple[str, ...], exclude: CodeSet) -> str | None:
        """The first of ``codes`` that matches and is not excluded (SPEC §2: ``C44.3;C50.9`` matches via C50.9)."""
        for code in codes:
            if self.matches(code) and not exclude.matches(code):
                return code
        return None
