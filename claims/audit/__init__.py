"""Audit: re-run a stored batch from its own snapshot, replay bundles, what-if simulation."""
