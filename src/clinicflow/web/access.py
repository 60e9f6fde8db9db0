"""Who is looking at a page: the cookie session's principal, or a redirect to sign in.

`PageRequires(...)` is the pages' twin of the API's `Requires(...)` (same
`Authorized` base, so the route walk sees every page's declaration): an
anonymous or logged-off browser is sent to `/login?next=…` (303), a signed-in
one without the permission gets the 403 page. The principal is loaded exactly
like a bearer token's, so a revoked session stops working at once.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from clinicflow.errors import ClinicflowError, Forbidden
from clinicflow.identity import auth
from clinicflow.identity.access import Authorized, context_of
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import Principal, TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.identity.tokens import AccessClaims
from clinicflow.web.session import SESSION_COOKIE, PageSession, SessionExpired


class LoginRequired(Exception):
    """The browser must sign in (again) before seeing `next_url`."""

    def __init__(self, next_url: str, *, reason: str = "signin") -> None:
        super().__init__(reason)
        self.next_url = next_url
        self.reason = reason


def _next_of(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return quote(f"{request.url.path}{query}", safe="/?=&")


async def page_principal(request: Request) -> Principal:
    """The principal of the request's page session (cached on `request.state`)."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    ctx = context_of(request)
    signer = request.app.state.cookie_signer
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        raise LoginRequired(_next_of(request))
    now = ctx.auth.clock.now()
    try:
        session: PageSession | None = signer.decode(value, now=now)
    except SessionExpired:
        raise LoginRequired(_next_of(request), reason="idle") from None
    if session is None:
        raise LoginRequired(_next_of(request))
    claims = AccessClaims(
        subject_id=session.subject_id, tenant_id=session.tenant_id, session_id=session.session_id
    )
    try:  # from the process's principal cache when trusted, as the API's bearer path is
        principal = await auth.resolve_principal(ctx.db, ctx.auth, ctx.principals, claims)
    except ClinicflowError:
        raise LoginRequired(_next_of(request), reason="ended") from None
    request.state.principal = principal
    if session.stale(now):
        request.state.renew_session = PageSession(
            session.session_id, session.subject_id, session.tenant_id, last_active=now
        )
    return principal


class PageRequires(Authorized):
    """Dependency for pages: a signed-in tenant member with these permissions."""

    async def __call__(self, request: Request) -> TenantPrincipal:
        principal = (await page_principal(request)).in_tenant()
        if principal is None:
            raise Forbidden("Platform administrators have no pages here yet")
        self.check(principal)
        return principal


class StaffPageRequires(PageRequires):
    """Dependency for a staff app's pages: these permissions and a grant of one of `roles`.

    The permissions are the policy; the roles say whose app it is (a doctor and a nurse
    hold the same permissions, but only a doctor has a calendar of their own). Any other
    signed-in member gets the 403 page.
    """

    def __init__(self, *permissions: Permission, roles: frozenset[Role], app: str) -> None:
        super().__init__(*permissions)
        self.roles = roles
        self.app = app

    def __repr__(self) -> str:
        return f"{super().__repr__()} as {' or '.join(sorted(self.roles))}"

    async def __call__(self, request: Request) -> TenantPrincipal:
        principal = (await page_principal(request)).in_tenant()
        if principal is None:
            raise Forbidden("Platform administrators have no pages here yet")
        if not principal.roles & self.roles:  # said first: whose app this is
            whose = " and ".join(sorted(f"{role.lower()}s" for role in self.roles))
            raise Forbidden(f"The {self.app} is for {whose}")
        self.check(principal)
        return principal


#: Any signed-in tenant member.
PAGE_MEMBER = PageRequires()
PageMember = Annotated[TenantPrincipal, Depends(PAGE_MEMBER)]
#: The patient app: a patient acting on their own appointments.
PATIENT_PAGE = PageRequires(Permission.APPOINTMENTS_SELF)
PatientPage = Annotated[TenantPrincipal, Depends(PATIENT_PAGE)]
#: The doctor hub: a doctor's own day, calendar and waitlist.
DOCTOR_PAGE = StaffPageRequires(
    Permission.APPOINTMENTS_READ, roles=frozenset({Role.DOCTOR}), app="doctor hub"
)
DoctorPage = Annotated[TenantPrincipal, Depends(DOCTOR_PAGE)]
#: The front desk: the day's appointments, booking for patients, the waitlists.
DESK_PAGE = StaffPageRequires(
    Permission.APPOINTMENTS_READ,
    Permission.APPOINTMENTS_BOOK,
    Permission.WAITLIST_READ,
    roles=frozenset({Role.RECEPTIONIST, Role.NURSE}),
    app="front desk",
)
DeskPage = Annotated[TenantPrincipal, Depends(DESK_PAGE)]
