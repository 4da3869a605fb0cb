"""Outcome webhooks: events written to an outbox with the status change that
causes them (events.py), delivered signed and retried by a worker
(sending.py), endpoints managed by admins (endpoints.py)."""
