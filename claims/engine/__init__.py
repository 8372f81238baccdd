"""PURE engine: claims + policy + ledger → result lines + new ledger, with explanations. No I/O, no clock."""

from claims.engine.calculate import calculate, evaluation_order
from claims.engine.ledger import Ledger
from claims.engine.model import Calculation, Claim, Enrollment, Explanation, Member, ResultLine, Step
from claims.engine.reasons import Reason
from claims.engine.values import ValueNotInForce

__all__ = [
    "Calculation", "Claim", "Enrollment", "Explanation", "Ledger", "Member", "Reason", "ResultLine", "Step",
    "ValueNotInForce", "calculate", "evaluation_order",
]
