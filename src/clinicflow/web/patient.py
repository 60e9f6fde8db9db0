"""The patient app (`/app`): my appointments, upcoming and past."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from fastapi.responses import Response

from clinicflow.identity.access import context_of
from clinicflow.platform.pagination import PageParams
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.scheduling import booking
from clinicflow.scheduling.schemas import AppointmentRead
from clinicflow.web.access import PatientPage
from clinicflow.web.patient_views import N_
from clinicflow.web.rendering import render
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/app", include_in_schema=False, route_class=PageRoute)
_NOTICES = {"booked": N_("Your appointment is booked.")}


def split_by_time(
    appointments: list[AppointmentRead], now: datetime
) -> tuple[list[AppointmentRead], list[AppointmentRead]]:
    """(upcoming soonest first, past latest first)."""
    upcoming = sorted((a for a in appointments if a.ends_at >= now), key=lambda a: a.starts_at)
    past = sorted((a for a in appointments if a.ends_at < now), key=lambda a: a.starts_at, reverse=True)
    return upcoming, past


@router.get("")
async def my_appointments(request: Request, principal: PatientPage) -> Response:
    """The signed-in patient's appointments, with calendar links."""
    ctx = context_of(request)
    async with ctx.db.reading() as uow:
        items, _cursor = await booking.list_appointments(
            uow,
            principal,
            patient_id=principal.user_id,
            doctor_id=None,
            clinic_id=None,
            status=None,
            start=None,
            end=None,
            page=PageParams(limit=100),
        )
    upcoming, past = split_by_time(items, ctx.auth.clock.now())
    notice = _NOTICES.get(next(iter(k for k in request.query_params if k in _NOTICES), ""))
    return render(request, "app/home.html", {"upcoming": upcoming, "past": past, "notice": notice})
