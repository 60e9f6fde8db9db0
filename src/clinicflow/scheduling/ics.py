"""iCalendar export of one appointment (RFC 5545), for patients' calendars."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar
from icalendar import Event as IcsEvent

from clinicflow.scheduling.schemas import AppointmentRead


def appointment_ics(
    appointment: AppointmentRead, *, clinic_name: str, doctor_name: str, now: datetime
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Clinicflow//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = IcsEvent()
    event.add("uid", f"{appointment.id}@clinicflow")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", appointment.starts_at.astimezone(UTC))
    event.add("dtend", appointment.ends_at.astimezone(UTC))
    event.add("summary", f"Appointment with {doctor_name}")
    event.add("location", appointment.video_url or clinic_name)
    if appointment.video_url:
        event.add("url", appointment.video_url)
    event.add("status", "CANCELLED" if appointment.status == "cancelled" else "CONFIRMED")
    calendar.add_component(event)
    return bytes(calendar.to_ical())
