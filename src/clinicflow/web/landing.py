"""Where each role starts: the app a principal lands in after signing in.

Doctors land in the doctor hub, reception and nurses at the front desk,
administrators in the admin console, patients in the patient app. Someone
holding several roles lands in the first of that order (a doctor who also
administers the clinic spends the day in the hub; the console is a link away).
A platform administrator has no tenant app and lands on the front door.
"""

from __future__ import annotations

from clinicflow.identity.principal import Principal
from clinicflow.identity.roles import Role

#: (roles, their app), first match wins.
APPS: tuple[tuple[frozenset[Role], str], ...] = (
    (frozenset({Role.DOCTOR}), "/doctor"),
    (frozenset({Role.RECEPTIONIST, Role.NURSE}), "/desk"),
    (frozenset({Role.TENANT_ADMIN, Role.CLINIC_ADMIN}), "/admin"),
    (frozenset({Role.PATIENT}), "/app"),
)
FRONT_DOOR = "/"


def landing_for(principal: Principal) -> str:
    """The path of the principal's app (the front door if no app is theirs)."""
    if principal.in_tenant() is None:
        return FRONT_DOOR
    for roles, path in APPS:
        if principal.roles & roles:
            return path
    return FRONT_DOOR
