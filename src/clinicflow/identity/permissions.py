"""The permission catalogue and which roles hold what: the one table to read for "who may do what".

A permission is `resource:action`. Roles map to permissions as data below.
A role grant may be tenant-wide or scoped to one clinic; a clinic-scoped
grant gives its permissions for that clinic's resources only (see
`identity.principal.Principal`).

Role rank bounds delegation: nobody may grant a role ranked above their own
(`can_grant`), and granting staff roles needs `roles:assign`.
"""

from __future__ import annotations

from enum import StrEnum

from clinicflow.identity.roles import Role


class Permission(StrEnum):
    # platform (SUPER_ADMIN only; no tenant data)
    TENANTS_CREATE = "tenants:create"
    TENANTS_READ = "tenants:read"
    # tenancy
    CLINICS_READ = "clinics:read"
    CLINICS_CREATE = "clinics:create"
    CLINICS_UPDATE = "clinics:update"
    CLINICS_DELETE = "clinics:delete"
    LOCATIONS_READ = "locations:read"
    LOCATIONS_MANAGE = "locations:manage"
    # people
    USERS_READ = "users:read"
    USERS_CREATE = "users:create"
    USERS_UPDATE = "users:update"
    USERS_DEACTIVATE = "users:deactivate"
    ROLES_ASSIGN = "roles:assign"
    # scheduling
    DOCTORS_READ = "doctors:read"  # the doctor directory, availability and free slots
    AVAILABILITY_MANAGE = "availability:manage"  # any doctor's (a doctor manages their own anyway)
    APPOINTMENTS_SELF = "appointments:self"  # book, see, confirm, cancel one's own
    APPOINTMENTS_READ = "appointments:read"  # everyone's, in scope
    APPOINTMENTS_BOOK = "appointments:book"  # for any patient, in scope
    APPOINTMENTS_MANAGE = "appointments:manage"  # move through the visit, cancel past the cut-off
    # waitlist
    WAITLIST_SELF = "waitlist:self"  # join, see and cancel one's own entries; answer offers
    WAITLIST_READ = "waitlist:read"  # the queues, in scope
    WAITLIST_MANAGE = "waitlist:manage"  # add patients, reorder, cancel, invite, promote
    # the day of the visit
    CHECKIN_SELF = "checkin:self"  # scan a location's QR for one's own (and dependants') visits
    CHECKIN_STAFF = "checkin:staff"  # check a patient in at the desk, inside the window
    CHECKIN_OVERRIDE = "checkin:override"  # check in outside the window, with a reason
    CHECKIN_CONFIGURE = "checkin:configure"  # check-in locations, QR versions, the clinic's window
    QUEUE_READ = "queue:read"  # a location's full queue, in scope
    QUEUE_CALL = "queue:call"  # call next, recall, skip, complete, no-show (clinicians)
    FAMILY_MANAGE = "family:manage"  # link guardians and dependants
    # oversight
    AUDIT_READ = "audit:read"
    OUTBOX_READ = "outbox:read"


P = Permission
_SEE_CLINICS = frozenset({P.CLINICS_READ, P.LOCATIONS_READ, P.DOCTORS_READ})
_CLINICAL = _SEE_CLINICS | {
    P.USERS_READ,
    P.APPOINTMENTS_READ,
    P.APPOINTMENTS_BOOK,
    P.APPOINTMENTS_MANAGE,
    P.WAITLIST_READ,
    P.WAITLIST_MANAGE,
    P.CHECKIN_STAFF,
    P.QUEUE_READ,
}
#: Clinicians work the queue; the desk checks in, overrides the window and links families.
_CLINICIAN = _CLINICAL | {P.QUEUE_CALL}
_DESK = frozenset({P.CHECKIN_OVERRIDE, P.FAMILY_MANAGE})
_CHECKIN_ADMIN = frozenset(
    {P.CHECKIN_STAFF, P.CHECKIN_OVERRIDE, P.CHECKIN_CONFIGURE, P.QUEUE_READ, P.FAMILY_MANAGE}
)
_SCHEDULING_ADMIN = frozenset(
    {
        P.AVAILABILITY_MANAGE,
        P.APPOINTMENTS_READ,
        P.APPOINTMENTS_BOOK,
        P.APPOINTMENTS_MANAGE,
        P.WAITLIST_READ,
        P.WAITLIST_MANAGE,
    }
)

# fmt: off
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SUPER_ADMIN:     frozenset({P.TENANTS_CREATE, P.TENANTS_READ}),
    Role.TENANT_ADMIN:    frozenset({
        P.CLINICS_READ, P.CLINICS_CREATE, P.CLINICS_UPDATE, P.CLINICS_DELETE,
        P.LOCATIONS_READ, P.LOCATIONS_MANAGE,
        P.USERS_READ, P.USERS_CREATE, P.USERS_UPDATE, P.USERS_DEACTIVATE, P.ROLES_ASSIGN,
        P.AUDIT_READ, P.OUTBOX_READ, P.DOCTORS_READ, *_SCHEDULING_ADMIN, *_CHECKIN_ADMIN,
    }),
    Role.CLINIC_ADMIN:    frozenset({
        P.CLINICS_READ, P.CLINICS_UPDATE, P.LOCATIONS_READ, P.LOCATIONS_MANAGE,
        P.USERS_READ, P.USERS_CREATE, P.USERS_UPDATE, P.USERS_DEACTIVATE, P.ROLES_ASSIGN,
        P.DOCTORS_READ, *_SCHEDULING_ADMIN, *_CHECKIN_ADMIN,
    }),
    Role.DOCTOR:          _CLINICIAN,
    Role.NURSE:           _CLINICIAN,
    Role.THERAPIST:       _CLINICIAN,
    Role.COUNSELOR:       _CLINICIAN,
    # the desk: patients, rotas, arrivals
    Role.RECEPTIONIST:    _CLINICAL | _DESK | {P.USERS_CREATE, P.AVAILABILITY_MANAGE},
    Role.PHARMACIST:      _SEE_CLINICS,
    Role.LAB_TECHNICIAN:  _SEE_CLINICS,
    Role.FINANCE_BILLING: _SEE_CLINICS,
    Role.SUPPORT_STAFF:   _SEE_CLINICS,
    Role.PATIENT:         _SEE_CLINICS | {P.APPOINTMENTS_SELF, P.WAITLIST_SELF, P.CHECKIN_SELF},  # own only
}

#: Delegation bound: a role may be granted only by someone holding a role of at least its rank.
ROLE_RANK: dict[Role, int] = {
    Role.SUPER_ADMIN: 1000,
    Role.TENANT_ADMIN: 100,
    Role.CLINIC_ADMIN: 80,
    Role.DOCTOR: 50, Role.NURSE: 50, Role.THERAPIST: 50, Role.COUNSELOR: 50,
    Role.RECEPTIONIST: 50, Role.PHARMACIST: 50, Role.LAB_TECHNICIAN: 50,
    Role.FINANCE_BILLING: 50, Role.SUPPORT_STAFF: 50,
    Role.PATIENT: 10,
}
# fmt: on

#: Roles that only make sense tenant-wide (never scoped to one clinic).
TENANT_WIDE_ONLY = frozenset({Role.TENANT_ADMIN, Role.PATIENT})


def permissions_of(roles: set[Role] | frozenset[Role]) -> frozenset[Permission]:
    """The union of the roles' permissions."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)
