"""Who may open which admin page: the console's dependencies, on the permission catalogue.

The console is for those who administer clinics (`clinics:update`, which only the
tenant's and clinics' administrators hold); each section adds what it shows or changes.
The scope (which clinic, which user) is checked after the scoped fetch, by the
domains' own policies and services, exactly as their API routes do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.web.access import PageRequires

P = Permission
#: A form post that passed the CSRF checks (declared after the principal: anonymous is sent

#: The console itself: its home, the clinics you administer, their policies.
ADMIN_PAGE = PageRequires(P.CLINICS_UPDATE)
AdminPage = Annotated[TenantPrincipal, Depends(ADMIN_PAGE)]
#: New clinics (tenant-wide `clinics:create`).
CLINIC_CREATOR = PageRequires(P.CLINICS_UPDATE, P.CLINICS_CREATE)
ClinicCreator = Annotated[TenantPrincipal, Depends(CLINIC_CREATOR)]
#: Archiving a clinic.
CLINIC_ARCHIVER = PageRequires(P.CLINICS_UPDATE, P.CLINICS_DELETE)
ClinicArchiver = Annotated[TenantPrincipal, Depends(CLINIC_ARCHIVER)]
#: A clinic's locations.
LOCATION_PAGE = PageRequires(P.CLINICS_UPDATE, P.LOCATIONS_MANAGE)
LocationPage = Annotated[TenantPrincipal, Depends(LOCATION_PAGE)]
#: Users: the list, a user's page, changing names and profiles.
USER_PAGE = PageRequires(P.CLINICS_UPDATE, P.USERS_READ, P.USERS_UPDATE)
UserPage = Annotated[TenantPrincipal, Depends(USER_PAGE)]
#: New staff, with their role grants.
STAFF_CREATOR = PageRequires(P.CLINICS_UPDATE, P.USERS_CREATE, P.ROLES_ASSIGN)
StaffCreator = Annotated[TenantPrincipal, Depends(STAFF_CREATOR)]
#: Deactivating a user.
USER_DEACTIVATOR = PageRequires(P.CLINICS_UPDATE, P.USERS_DEACTIVATE)
UserDeactivator = Annotated[TenantPrincipal, Depends(USER_DEACTIVATOR)]
#: Replacing a user's role grants.
GRANTER = PageRequires(P.CLINICS_UPDATE, P.ROLES_ASSIGN)
Granter = Annotated[TenantPrincipal, Depends(GRANTER)]
#: The audit trail (tenant-wide `audit:read`; the trail's own policy says so again).
TRAIL_PAGE = PageRequires(P.AUDIT_READ)
TrailPage = Annotated[TenantPrincipal, Depends(TRAIL_PAGE)]
