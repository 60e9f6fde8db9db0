"""Audit: the append-only trail of every change and every security event."""
