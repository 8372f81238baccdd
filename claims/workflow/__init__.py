"""The service-center workflow: imports, batches, review, decisions, corrections, users and the audit log."""
