"""Scheduling: availability, slots and appointments that can never be double-booked."""
