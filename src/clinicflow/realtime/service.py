"""Real time use cases: stream tickets, display tokens, and who may follow which channels."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from clinicflow.errors import NotFound, Unauthenticated
from clinicflow.identity import auth
from clinicflow.identity.auth import AuthConfig
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.identity.tokens import AccessClaims
from clinicflow.platform.db import Database, UnitOfWork
from clinicflow.realtime import policy
from clinicflow.realtime.display import DisplayClaims, DisplayKeys
from clinicflow.realtime.errors import ChannelForbidden, StreamTicketInvalid
from clinicflow.realtime.policy import Channel, Kind
from clinicflow.realtime.repository import TicketRepository, delete_expired_tickets, take_ticket
from clinicflow.realtime.schemas import DisplayTokenCreate, DisplayTokenRead, TicketRead
from clinicflow.scheduling import booking
from clinicflow.tenancy import service as tenancy

#: A ticket is for opening one stream right away.
TICKET_TTL = timedelta(seconds=30)


def _digest(ticket: str) -> bytes:
    return hashlib.sha256(ticket.encode()).digest()


async def issue_ticket(uow: UnitOfWork, principal: TenantPrincipal, *, now: datetime) -> TicketRead:
    """A single-use stream ticket bound to the caller's session, valid for TICKET_TTL.

    Only its SHA-256 is stored. Expired tickets are deleted here (and by the periodic prune).
    """
    ticket = secrets.token_urlsafe(32)
    expires_at = now + TICKET_TTL
    TicketRepository(uow, principal.tenant_id).add_ticket(
        digest=_digest(ticket),
        user_id=principal.user_id,
        session_id=principal.session_id,
        expires_at=expires_at,
    )
    await delete_expired_tickets(uow, now=now)
    return TicketRead(ticket=ticket, expires_at=expires_at)


async def redeem_ticket(uow: UnitOfWork, cfg: AuthConfig, ticket: str) -> TenantPrincipal:
    """The principal of a ticket, spending it (a second use, or a late one, is 401).

    The session it was issued from must still be live, its user active.
    """
    holder = await take_ticket(uow, _digest(ticket))
    if holder is None or holder.expires_at <= cfg.clock.now():
        raise StreamTicketInvalid()
    claims = AccessClaims(subject_id=holder.user_id, tenant_id=holder.tenant_id, session_id=holder.session_id)
    principal = (await auth.load_principal(uow, cfg, claims)).in_tenant()
    if principal is None:  # tickets are only issued to tenant members
        raise StreamTicketInvalid()
    return principal


async def still_signed_in(database: Database, cfg: AuthConfig, principal: TenantPrincipal) -> bool:
    """Whether the principal's session is still live (a long stream checks it now and then)."""
    claims = AccessClaims(
        subject_id=principal.user_id, tenant_id=principal.tenant_id, session_id=principal.session_id
    )
    try:
        async with database.reading() as uow:
            await auth.load_principal(uow, cfg, claims)
    except Unauthenticated:
        return False
    return True


async def issue_display_token(
    uow: UnitOfWork, principal: TenantPrincipal, keys: DisplayKeys, *, data: DisplayTokenCreate, now: datetime
) -> DisplayTokenRead:
    """A signed token for a location's screen (staff who manage that clinic's locations).

    The location must exist in the caller's tenant (404 otherwise); nothing is stored.
    """
    location = await tenancy.get_location(uow, tenant_id=principal.tenant_id, location_id=data.location_id)
    if location is None:
        raise NotFound("Location not found")
    if not principal.can(Permission.LOCATIONS_MANAGE, clinic_id=location.clinic_id):
        raise ChannelForbidden("You may not issue display tokens for this location")
    claims = DisplayClaims(
        tenant_id=principal.tenant_id,
        location_id=location.id,
        expires_at=now + timedelta(days=data.valid_days),
    )
    return DisplayTokenRead(
        token=keys.issue(claims),
        location_id=location.id,
        channel=policy.queue_channel(location.id),
        expires_at=claims.expires_at,
    )


async def _authorize(uow: UnitOfWork, principal: TenantPrincipal, channel: Channel) -> None:
    tenant_id = principal.tenant_id
    if channel.kind is Kind.APPOINTMENT:
        # Scoped and visibility-filtered: the patient's own, or a clinic where they read appointments.
        await booking.get_visible(uow, principal, channel.id)
    elif channel.kind is Kind.CLINIC:
        if not await tenancy.clinic_exists(uow, tenant_id=tenant_id, clinic_id=channel.id):
            raise NotFound("Clinic not found", channel=str(channel))
        policy.check_staff_channel(principal, channel, clinic_id=channel.id)
    elif channel.kind is Kind.QUEUE:
        location = await tenancy.get_location(uow, tenant_id=tenant_id, location_id=channel.id)
        if location is None:
            raise NotFound("Location not found", channel=str(channel))
        policy.check_staff_channel(principal, channel, clinic_id=location.clinic_id)
    else:
        policy.check_patient_channel(principal, channel)


async def authorize_channels(uow: UnitOfWork, principal: TenantPrincipal, channels: list[Channel]) -> None:
    """Raise unless the principal may follow every channel: 404 for an object not in their
    tenant (or not visible to them), 403 CHANNEL_FORBIDDEN for one they may not follow."""
    for channel in channels:
        await _authorize(uow, principal, channel)


def authorize_display(claims: DisplayClaims, channels: list[Channel]) -> None:
    """A display follows its location's queue only (403 CHANNEL_FORBIDDEN otherwise)."""
    for channel in channels:
        policy.check_display_channel(claims.location_id, channel)
