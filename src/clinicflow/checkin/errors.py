"""Check-in error codes: each a stable code, with the fields a client needs to say what to do."""

from __future__ import annotations

from clinicflow.errors import Conflict, Forbidden, NotFound, ValidationFailed
from clinicflow.platform.db.integrity import register_constraint_error
from clinicflow.scheduling.errors import InvalidTransition


class QrCodeInvalid(ValidationFailed):
    code = "QR_CODE_INVALID"
    title = "This QR code is not one of ours, was changed, or was revoked"


class QrCodeExpired(ValidationFailed):
    code = "QR_CODE_EXPIRED"
    title = "This QR code has expired: scan the one on the screen again"


class NoAppointmentFound(NotFound):
    code = "NO_APPOINTMENT_FOUND"
    title = "No appointment to check in for today at this clinic"


class WrongLocation(Conflict):
    code = "WRONG_LOCATION"
    title = "The appointment is at another location"


class TooEarly(Conflict):
    code = "TOO_EARLY"
    title = "Check-in for this appointment has not opened yet"


class AppointmentExpired(Conflict):
    code = "APPOINTMENT_EXPIRED"
    title = "Check-in for this appointment has closed"


class AlreadyCheckedIn(Conflict):
    code = "ALREADY_CHECKED_IN"
    title = "This appointment is already checked in"


#: A visit in a status check-in cannot move (cancelled, no-show, started without checking in):
#: scheduling's own INVALID_TRANSITION, the same class (codes are unique per class).
NotCheckable = InvalidTransition


class OutsideGeofence(Forbidden):
    code = "OUTSIDE_GEOFENCE"
    title = "You are too far from the clinic to check in"


class CheckInClosed(Conflict):
    code = "CHECK_IN_DISABLED"
    title = "This location does not take check-ins"


class CheckInLocationExists(Conflict):
    code = "CHECK_IN_LOCATION_EXISTS"
    title = "This location already takes check-ins: change its settings with PUT"


register_constraint_error("uq_checkin_locations_tenant_id_location_id", CheckInLocationExists)
