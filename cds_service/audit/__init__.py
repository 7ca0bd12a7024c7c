"""The audit trail on the request path: decisions queued for the database while it is unavailable."""
