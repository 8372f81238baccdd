"""The ``claims`` command: parse options, call one function, print what it did. Nothing else.

One module per command group; each registers its commands on ``main`` when imported."""

from claims.cli import (  # noqa: F401  (imported for their commands)
    admin_commands,
    audit_commands,
    auth_commands,
    bank_commands,
    batch_commands,
    calculate_commands,
    export_commands,
    import_commands,
    ledger_commands,
    policy_commands,
    policy_version_commands,
    settle_commands,
)
from claims.cli.common import Refused
from claims.cli.root import main

__all__ = ["Refused", "main"]
