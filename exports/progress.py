"""A small progress display on standard error for long exports: a bar on a terminal, a few lines otherwise."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str, stream=None, every: float = 0.5):
        self.total, self.label, self.done = max(total, 1), label, 0
        self.stream = stream if stream is not None else sys.stderr
        self.every, self._last, self._last_tenth = every, 0.0, -1
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        tenth = self.done * 10 // self.total
        if self.tty and (now - self._last >= self.every or self.done >= self.total):
            filled = self.done * 30 // self.total
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total}")
            self.stream.flush()
            self._last = now
        elif not self.tty and tenth != self._last_tenth and self.total >= 1000:
            self.stream.write(f"{self.label}：{self.done}/{self.total}（{tenth * 10}%）\n")
            self._last_tenth = tenth

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
