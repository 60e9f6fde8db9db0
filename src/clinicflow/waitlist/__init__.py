"""Waitlist: a fair, capped queue per clinic whose patients are offered freed slots automatically."""
