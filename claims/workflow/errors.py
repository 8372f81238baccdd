"""Refusals the user must act on (exit 1): a role that may not act, a state that does not allow it."""

from __future__ import annotations


class Refusal(Exception):
    """A refused action, with a stable code and a Chinese message."""

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(f"[{code}] {message}")
