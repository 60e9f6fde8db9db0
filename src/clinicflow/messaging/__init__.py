"""Messaging. Until providers land, messages are recorded in an outbox table."""
