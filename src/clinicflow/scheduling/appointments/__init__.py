"""Appointment use cases, one module each: booking, reads, transitions, rescheduling.

`creation` is how any appointment comes to exist (a booking, a waitlist hold): the
slot checked in one query, the row, its audit event and its job written in one
round trip.
"""
