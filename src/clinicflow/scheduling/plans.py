"""A doctor's plan at a clinic: booking settings and weekly rules. Callers own the unit of work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from clinicflow.audit import service as audit
from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.identity import directory
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling import policy, repository
from clinicflow.scheduling.models import AvailabilityPlan, AvailabilityRule
from clinicflow.scheduling.repository import PlanRepository
from clinicflow.scheduling.schedules import snapshot_of
from clinicflow.scheduling.schemas import AvailabilityIn, AvailabilityRead, RuleIn, RuleRead
from clinicflow.tenancy import service as tenancy


async def require_doctor_at(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    doctor_id: uuid.UUID,
    clinic_id: uuid.UUID,
    field: str = "doctor_id",
) -> ZoneInfo:
    """The clinic's zone, if the clinic is live and the user practises there as a doctor (422 otherwise)."""
    zone = await tenancy.clinic_timezone(uow, tenant_id=tenant_id, clinic_id=clinic_id)
    if zone is None:
        raise ValidationFailed(
            "No such clinic", errors=[FieldProblem(field="clinic_id", message="no such clinic")]
        )
    clinics = await directory.doctor_clinics(uow, tenant_id=tenant_id, user_id=doctor_id)
    if None not in clinics and clinic_id not in clinics:
        raise ValidationFailed(
            "This doctor does not practise at this clinic",
            errors=[FieldProblem(field=field, message="not a doctor of this clinic")],
        )
    return ZoneInfo(zone)


async def get_availability(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, doctor_id: uuid.UUID, clinic_id: uuid.UUID
) -> AvailabilityRead | None:
    """The plan at a live clinic, or None (one round trip)."""
    now = datetime.now(UTC)
    params = repository.schedule_params(
        tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=clinic_id, start=now, end=now, with_busy=False
    )
    snapshot = snapshot_of(await repository.load_schedule_row(uow, params))
    schedule = snapshot.schedule_at(clinic_id)
    if snapshot.clinic_timezone is None or schedule is None:
        return None
    return AvailabilityRead(
        doctor_id=doctor_id,
        clinic_id=clinic_id,
        timezone=snapshot.clinic_timezone,
        min_notice_minutes=schedule.min_notice_minutes,
        horizon_days=schedule.horizon_days,
        location_id=schedule.location_id,
        rules=[
            RuleRead(
                weekday=r.weekday,
                start=r.start,
                end=r.end,
                slot_minutes=r.slot_minutes,
                buffer_before=r.buffer_before,
                buffer_after=r.buffer_after,
                capacity=r.capacity,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                location_id=r.location_id,
            )
            for r in schedule.rules
        ],
    )


def _rule_row(tenant_id: uuid.UUID, plan_id: uuid.UUID, rule: RuleIn) -> AvailabilityRule:
    return AvailabilityRule(
        tenant_id=tenant_id,
        plan_id=plan_id,
        weekday=rule.weekday,
        start_local=rule.start,
        end_local=rule.end,
        slot_minutes=rule.slot_minutes,
        buffer_before=rule.buffer_before,
        buffer_after=rule.buffer_after,
        capacity=rule.capacity,
        valid_from=rule.valid_from,
        valid_to=rule.valid_to,
        location_id=rule.location_id,
    )


async def _write_plan(
    plans: PlanRepository, plan: AvailabilityPlan | None, doctor_id: uuid.UUID, data: AvailabilityIn
) -> None:
    tenant_id = plans.tenant_id
    if plan is None:
        plan = plans.add(AvailabilityPlan(tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=data.clinic_id))
    plan.min_notice_minutes = data.min_notice_minutes
    plan.horizon_days = data.horizon_days
    plan.location_id = data.location_id
    await plans.uow.flush()
    await plans.replace_rules(plan, [_rule_row(tenant_id, plan.id, rule) for rule in data.rules])


async def require_locations_at(uow: UnitOfWork, *, tenant_id: uuid.UUID, data: AvailabilityIn) -> None:
    """422 naming the field unless every location the plan or its rules name is a live
    location of the plan's clinic."""
    named = [("location_id", data.location_id)] + [
        (f"rules.{i}.location_id", rule.location_id) for i, rule in enumerate(data.rules)
    ]
    here: dict[uuid.UUID, bool] = {}  # each location looked up once
    problems = []
    for field, location_id in named:
        if location_id is None:
            continue
        if location_id not in here:
            location = await tenancy.get_location(uow, tenant_id=tenant_id, location_id=location_id)
            here[location_id] = location is not None and location.clinic_id == data.clinic_id
        if not here[location_id]:
            problems.append(FieldProblem(field=field, message="not a location of this clinic"))
    if problems:
        raise ValidationFailed("A location is not one of this clinic's", errors=problems)


async def put_availability(
    uow: UnitOfWork, principal: TenantPrincipal, *, doctor_id: uuid.UUID, data: AvailabilityIn
) -> AvailabilityRead:
    """Replace a doctor's plan at a clinic (settings and weekly rules), audited.

    The doctor themselves or `availability:manage` for the clinic; the doctor must
    practise there. Existing appointments are kept even if they fall outside the new rules.
    """
    tenant_id = principal.tenant_id
    policy.require_schedule_manager(principal, doctor_id, data.clinic_id)
    tz = await require_doctor_at(uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=data.clinic_id)
    await require_locations_at(uow, tenant_id=tenant_id, data=data)
    plans = PlanRepository(uow, tenant_id)
    plan = await plans.locked(doctor_id, data.clinic_id)
    before = await get_availability(uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=data.clinic_id)
    await _write_plan(plans, plan, doctor_id, data)
    after = await get_availability(uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=data.clinic_id)
    assert after is not None
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=principal.actor,
        action="availability.replaced",
        subject_type="doctor",
        subject_id=doctor_id,
        before=before.model_dump(exclude={"timezone"}) if before else None,
        after=after.model_dump(exclude={"timezone"}),
        details={"clinic_id": data.clinic_id, "timezone": str(tz)},
    )
    return after
