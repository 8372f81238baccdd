"""Refusals the user must act on (exit 1): a role that may not act, a state that does not allow it."""

from __future__ import annotations


class Refusal(Exception):
    """A refused action, with a stable code and a Chinese message."""

    exit_code = 1

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(f"[{code}] {message}")


class InvalidInput(Refusal):
    """Input that can never be accepted, whatever the state (exit 2): an empty user name, a short password."""

    exit_code = 2
