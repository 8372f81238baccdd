"""The policy language: YAML scheme files → validated models, with file:line problems."""

from claims.policy.loader import LoadedPolicy, parse_policy, read_policy
from claims.policy.schema import Policy

__all__ = ["LoadedPolicy", "Policy", "parse_policy", "read_policy"]
