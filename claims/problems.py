"""Errors as values: a located problem (file, line or row, column) with a stable code and a Chinese message."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    message: str
    file: str = ""
    line: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.column:
            where += f":{self.column}"
        return f"{where}: [{self.code}] {self.message}" if where else f"[{self.code}] {self.message}"


class ProblemsFound(Exception):
    """Raised at an edge (loader, reader) when input is refused; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=_order)
        super().__init__("\n".join(str(p) for p in self.problems))


def _order(p: Problem) -> tuple:
    """By file and line; within a line, in the order found (a row's columns in the SPEC's order)."""
    return (p.file, p.line if p.line is not None else 0)
