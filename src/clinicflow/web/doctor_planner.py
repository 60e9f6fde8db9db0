"""The doctor hub's planner (`/doctor/availability`): my weekly rules and my time off.

The weekly rules of one clinic are one form: every window as a row (weekday,
start, end, slot length; the settings it does not show ride along hidden), a
"remove" box per row and an empty row to add one. Saving replaces the plan with
what the form shows, as the API's PUT does, so nothing is lost between a read
and a write; a form drawn from a plan that has changed since is refused (409)
and drawn again from the current plan. Time off is added as whole days or as
part of a day, and deleted one by one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from clinicflow.errors import ClinicflowError, Conflict, FieldProblem, NotFound, ValidationFailed
from clinicflow.identity.access import context_of
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.pagination import PageParams
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.scheduling import availability_service as availability
from clinicflow.scheduling.schemas import AvailabilityIn, AvailabilityRead, RuleIn, TimeOffIn
from clinicflow.tenancy.schemas import ClinicRead
from clinicflow.web.access import DoctorPage
from clinicflow.web.doctor import my_clinics
from clinicflow.web.forms import CheckedForm, text, validated
from clinicflow.web.rendering import field_errors, render
from clinicflow.web.routing import PageRoute
from clinicflow.web.weeks import day_bounds, scheduling_of, zone_of

router = PrefixedRouter(prefix="/doctor", include_in_schema=False, route_class=PageRoute)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: What a row shows, and what it keeps hidden so that saving does not drop it.
SHOWN = ("weekday", "start", "end", "slot_minutes")
KEPT = ("buffer_before", "buffer_after", "capacity", "valid_from", "valid_to")
MAX_ROWS = 100
_NOTICES = {
    "saved": "Your weekly hours are saved.",
    "off_added": "The time off is added.",
    "off_removed": "The time off is deleted.",
}


class StalePlan(Conflict):
    code = "AVAILABILITY_CHANGED"
    title = "The hours changed meanwhile"


def clinic_param(value: str) -> str:
    """A clinic id from a form, for the page to return to ('' if it is not an id)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return ""


def fingerprint(plan: AvailabilityRead | None) -> str:
    """Names the plan a form was drawn from (rules and settings)."""
    if plan is None:
        return "none"
    shown = plan.model_dump(mode="json", exclude={"timezone"})
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:32]


def _rows_of(plan: AvailabilityRead | None) -> list[dict[str, str]]:
    if plan is None:
        return []
    rows = []
    for rule in sorted(plan.rules, key=lambda r: (r.weekday, r.start)):
        values = rule.model_dump(mode="json")
        rows.append({name: "" if values[name] is None else str(values[name]) for name in (*SHOWN, *KEPT)})
        rows[-1]["start"], rows[-1]["end"] = rule.start.strftime("%H:%M"), rule.end.strftime("%H:%M")
    return rows


def _settings_of(plan: AvailabilityRead | None) -> dict[str, str]:
    if plan is None:
        return {"min_notice_minutes": "60", "horizon_days": "90"}
    return {"min_notice_minutes": str(plan.min_notice_minutes), "horizon_days": str(plan.horizon_days)}


def _pick(clinics: dict[uuid.UUID, ClinicRead], clinic_id: str | None) -> ClinicRead | None:
    """The clinic asked for (404 if it is not one of mine), else my first."""
    if not clinic_id:
        return next(iter(clinics.values()), None)
    try:
        chosen = clinics.get(uuid.UUID(clinic_id))
    except ValueError:
        chosen = None
    if chosen is None:
        raise NotFound("Clinic not found")
    return chosen


async def _planner(
    request: Request,
    principal: TenantPrincipal,
    clinic_id: str | None,
    *,
    plan_form: dict[str, Any] | None = None,
    off_form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The planner of one clinic; `plan_form` and `off_form` redraw what was posted (with
    `errors` beside it), else the plan as it is and an empty time-off form."""
    ctx = context_of(request)
    now = scheduling_of(request).clock.now()
    async with ctx.db.reading() as uow:
        clinics = await my_clinics(uow, principal)
        clinic = _pick(clinics, clinic_id)
        plan = None
        if clinic is not None:
            plan = await availability.get_availability(
                uow, tenant_id=principal.tenant_id, doctor_id=principal.user_id, clinic_id=clinic.id
            )
        time_off, _ = await availability.list_time_off(
            uow,
            tenant_id=principal.tenant_id,
            doctor_id=principal.user_id,
            page=PageParams(limit=100),
            now=now,
        )
    drawn = plan_form or {
        "rows": _rows_of(plan),
        "settings": _settings_of(plan),
        "version": fingerprint(plan),
    }
    away = [
        {
            "entry": t,
            "clinic": clinics[t.clinic_id].name if t.clinic_id in clinics else None,
            "starts": t.starts_at.astimezone(zone_of(clinics.get(t.clinic_id) if t.clinic_id else clinic)),
            "ends": t.ends_at.astimezone(zone_of(clinics.get(t.clinic_id) if t.clinic_id else clinic)),
        }
        for t in time_off
    ]
    notice = next((_NOTICES[k] for k in request.query_params if k in _NOTICES), None)
    context = {
        "clinics": list(clinics.values()),
        "clinic": clinic,
        "plan": plan,
        "form": drawn,
        "off": off_form or {},
        "errors": errors or {},
        "weekdays": WEEKDAYS,
        "time_off": away,
        "notice": notice,
    }
    return render(request, "doctor/availability.html", context, status_code=status_code)


@router.get("/availability")
async def planner(request: Request, principal: DoctorPage, clinic_id: str | None = None) -> Response:
    """My weekly hours at a clinic, and my time off."""
    return await _planner(request, principal, clinic_id)


def _posted_rows(form: FormData) -> tuple[list[dict[str, str]], list[tuple[int, dict[str, str]]]]:
    """(every row as posted, to redraw; the rows to keep, by their number in the form)."""
    try:
        count = min(int(text(form, "rule_count") or "0"), MAX_ROWS)
    except ValueError:
        count = 0
    posted, kept = [], []
    for index in range(count + 1):  # the last row is the empty one for a new window
        row = {name: text(form, f"rules-{index}-{name}") for name in (*SHOWN, *KEPT)}
        removed = text(form, f"rules-{index}-remove") == "1"
        if index == count and not (row["start"] or row["end"]):
            continue  # the new row, left empty
        row["remove"] = "1" if removed else ""
        posted.append(row)
        if not removed:
            kept.append((index, row))
    return posted, kept


def _plan(clinic_id: str, settings: dict[str, str], kept: list[tuple[int, dict[str, str]]]) -> AvailabilityIn:
    """The posted plan; every problem at once, a row's named `rules-<n>.<field>`."""
    rules, problems = [], []
    for index, row in kept:
        values = {name: value for name, value in row.items() if value and name != "remove"}
        try:
            rules.append(validated(RuleIn, values, prefix=f"rules-{index}."))
        except ValidationFailed as invalid:
            problems.extend(invalid.errors)
    given = {name: value for name, value in settings.items() if value}
    try:
        plan = validated(
            AvailabilityIn, {"clinic_id": clinic_id, **given, "rules": [rule.model_dump() for rule in rules]}
        )
    except ValidationFailed as invalid:
        problems.extend(invalid.errors)
    if problems:
        raise ValidationFailed("Some of your hours are not valid", errors=problems)
    return plan


@router.post("/availability")
async def save_plan(request: Request, principal: DoctorPage, form: CheckedForm) -> Response:
    """Replace my weekly hours at the clinic with the form's rows (refused if the plan changed)."""
    ctx = context_of(request)
    clinic_id = text(form, "clinic_id")
    posted, kept = _posted_rows(form)
    settings = {name: text(form, name) for name in ("min_notice_minutes", "horizon_days")}
    drawn = {"rows": posted, "settings": settings, "version": text(form, "version")}
    try:
        data = _plan(clinic_id, settings, kept)
        async with ctx.db.transaction() as uow:
            _pick(await my_clinics(uow, principal), clinic_id)  # only a clinic where I practise
            current = await availability.get_availability(
                uow, tenant_id=principal.tenant_id, doctor_id=principal.user_id, clinic_id=data.clinic_id
            )
            if fingerprint(current) != drawn["version"]:
                raise StalePlan("Your hours were changed elsewhere meanwhile: here they are as they are now")
            await availability.put_availability(uow, principal, doctor_id=principal.user_id, data=data)
    except StalePlan as stale:
        return await _planner(
            request, principal, clinic_id, errors={"form": stale.detail}, status_code=stale.status
        )
    except ClinicflowError as refused:
        return await _planner(
            request,
            principal,
            clinic_id,
            plan_form=drawn,
            errors=field_errors(refused),
            status_code=refused.status,
        )
    return RedirectResponse(f"/doctor/availability?clinic_id={data.clinic_id}&saved=1", status_code=303)


def _parse(value: str, kind: type[date] | type[time], field: str, problems: list[FieldProblem]) -> Any:
    if not value:
        return None
    try:
        return kind.fromisoformat(value)
    except ValueError:
        example = "YYYY-MM-DD" if kind is date else "HH:MM"
        problems.append(FieldProblem(field=f"off.{field}", message=f"not valid, write {example}"))
        return None


def _time_off(values: dict[str, str], zone: ZoneInfo) -> dict[str, Any]:
    """The time-off form as `TimeOffIn` input: whole days at a clinic, or instants (part of a
    day, or whole days at every clinic, on the clock of my first clinic)."""
    problems: list[FieldProblem] = []
    first = _parse(values["from_date"], date, "from_date", problems)
    last = _parse(values["to_date"], date, "to_date", problems) or first
    start = _parse(values["start_time"], time, "start_time", problems)
    end = _parse(values["end_time"], time, "end_time", problems)
    if first is None and not values["from_date"]:
        problems.append(FieldProblem(field="off.from_date", message="required"))
    if (start is None) != (end is None) and not problems:
        missing = "end_time" if end is None else "start_time"
        problems.append(FieldProblem(field=f"off.{missing}", message="give both times, or neither"))
    if first and last and last < first:
        problems.append(FieldProblem(field="off.to_date", message="must not be before the first day"))
    if problems:
        raise ValidationFailed("The time off is not valid", errors=problems)
    clinic = values["clinic_id"] or None
    reason = values["reason"] or None
    if start is not None and end is not None:
        starts_at = datetime.combine(first, start, tzinfo=zone)
        ends_at = datetime.combine(last, end, tzinfo=zone)
        if ends_at <= starts_at:
            raise ValidationFailed(
                "The time off is not valid",
                errors=[FieldProblem(field="off.end_time", message="must be after the start")],
            )
        return {"clinic_id": clinic, "starts_at": starts_at, "ends_at": ends_at, "reason": reason}
    if clinic is None:
        return {
            "starts_at": day_bounds(first, zone)[0],
            "ends_at": day_bounds(last, zone)[1],
            "reason": reason,
        }
    return {"clinic_id": clinic, "from_date": first, "to_date": last, "reason": reason}


def _prefixed(errors: dict[str, str]) -> dict[str, str]:
    """A service's field names as the time-off form's (`off.<field>`)."""
    return {
        name if name == "form" or name.startswith("off.") else f"off.{name}": m for name, m in errors.items()
    }


@router.post("/time-off")
async def add_time_off(request: Request, principal: DoctorPage, form: CheckedForm) -> Response:
    """Add time off: whole days (at a clinic, or everywhere) or part of a day."""
    ctx = context_of(request)
    names = ("clinic_id", "from_date", "to_date", "start_time", "end_time", "reason")
    values = {name: text(form, name) for name in names}
    shown = clinic_param(text(form, "shown_clinic_id"))
    try:
        async with ctx.db.transaction() as uow:
            clinics = await my_clinics(uow, principal)
            chosen = _pick(clinics, values["clinic_id"]) if values["clinic_id"] else None
            zone = zone_of(chosen or next(iter(clinics.values()), None))
            data = validated(TimeOffIn, _time_off(values, zone), prefix="off.")
            await availability.add_time_off(uow, principal, doctor_id=principal.user_id, data=data)
    except ClinicflowError as refused:
        errors = _prefixed(field_errors(refused))
        return await _planner(
            request,
            principal,
            shown,
            off_form=values,
            errors=errors,
            status_code=refused.status,
        )
    return RedirectResponse(f"/doctor/availability?clinic_id={shown}&off_added=1", status_code=303)


@router.post("/time-off/{time_off_id}/delete")
async def remove_time_off(
    request: Request, principal: DoctorPage, time_off_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Delete one of my absences (another's, or another tenant's, is 404)."""
    ctx = context_of(request)
    async with ctx.db.transaction() as uow:
        await availability.remove_time_off(
            uow, principal, doctor_id=principal.user_id, time_off_id=time_off_id
        )
    shown = clinic_param(text(form, "shown_clinic_id"))
    return RedirectResponse(f"/doctor/availability?clinic_id={shown}&off_removed=1", status_code=303)
