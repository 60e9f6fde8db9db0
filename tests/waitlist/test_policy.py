"""Who may do what to which entry: waitlist.policy on its own, one role and clinic at a time."""

from __future__ import annotations

import uuid

import pytest

from clinicflow.errors import Forbidden, NotFound
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import Grant, TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.waitlist import policy
from clinicflow.waitlist.models import WaitlistEntry
from clinicflow.waitlist.policy import Changer

TENANT = uuid.uuid4()
HERE, ELSEWHERE = uuid.uuid4(), uuid.uuid4()


def who(*grants: tuple[Role, uuid.UUID | None]) -> TenantPrincipal:
    return TenantPrincipal(
        subject_id=uuid.uuid4(),
        tenant_id=TENANT,
        session_id=uuid.uuid4(),
        grants=tuple(Grant(role, clinic) for role, clinic in grants),
    )


def entry_of(patient: TenantPrincipal | None, clinic_id: uuid.UUID = HERE) -> WaitlistEntry:
    return WaitlistEntry(
        tenant_id=TENANT, clinic_id=clinic_id, patient_id=patient.user_id if patient else uuid.uuid4()
    )


PATIENT = who((Role.PATIENT, None))
DOCTOR_HERE = who((Role.DOCTOR, HERE))
DOCTOR_ELSEWHERE = who((Role.DOCTOR, ELSEWHERE))
ADMIN = who((Role.TENANT_ADMIN, None))
PHARMACIST = who((Role.PHARMACIST, None))


@pytest.mark.parametrize(
    ("principal", "own", "sees"),
    [
        (PATIENT, True, True),
        (PATIENT, False, False),
        (DOCTOR_HERE, False, True),
        (DOCTOR_ELSEWHERE, False, False),
        (ADMIN, False, True),
        (PHARMACIST, False, False),
    ],
)
def test_an_entry_is_seen_by_its_patient_and_the_readers_of_its_clinic(
    principal: TenantPrincipal, own: bool, sees: bool
) -> None:
    assert policy.may_see(principal, entry_of(principal if own else None)) is sees


def test_a_patient_changes_their_own_entry_but_never_its_order() -> None:
    own = entry_of(PATIENT)
    policy.check_changes(PATIENT, own)
    with pytest.raises(Forbidden):
        policy.check_reorders(PATIENT, own)
    with pytest.raises(Forbidden):
        policy.check_changes(PATIENT, entry_of(None))
    assert policy.cancelled_by(PATIENT, own) is Changer.PATIENT


def test_staff_change_and_reorder_in_their_clinic_only() -> None:
    entry = entry_of(None)
    policy.check_changes(DOCTOR_HERE, entry)
    policy.check_reorders(DOCTOR_HERE, entry)
    assert policy.cancelled_by(DOCTOR_HERE, entry) is Changer.STAFF
    with pytest.raises(Forbidden):
        policy.check_changes(DOCTOR_ELSEWHERE, entry)
    with pytest.raises(Forbidden):
        policy.check_reorders(DOCTOR_ELSEWHERE, entry)


def test_staff_who_wait_themselves_cancel_as_the_patient() -> None:
    doctor_and_patient = who((Role.DOCTOR, HERE), (Role.PATIENT, None))
    assert policy.cancelled_by(doctor_and_patient, entry_of(doctor_and_patient)) is Changer.PATIENT


def test_offers_are_answered_by_the_invited_patient_or_the_clinics_staff() -> None:
    entry = entry_of(PATIENT)
    policy.check_answers_offer(PATIENT, entry)
    policy.check_answers_offer(DOCTOR_HERE, entry)
    with pytest.raises(Forbidden):
        policy.check_answers_offer(DOCTOR_ELSEWHERE, entry)
    with pytest.raises(Forbidden):
        policy.check_answers_offer(PATIENT, entry_of(None))


def test_only_managers_of_the_clinic_promote_and_invite() -> None:
    policy.check_manages(DOCTOR_HERE, HERE, doing="promote")
    with pytest.raises(Forbidden, match="promote"):
        policy.check_manages(DOCTOR_HERE, ELSEWHERE, doing="promote")
    with pytest.raises(Forbidden):
        policy.check_manages(PATIENT, HERE, doing="offer slots")


def test_a_queue_unread_is_a_clinic_not_found() -> None:
    policy.check_reads_queue(DOCTOR_HERE, HERE)
    policy.check_reads_queue(ADMIN, ELSEWHERE)
    for principal, clinic in ((DOCTOR_HERE, ELSEWHERE), (PATIENT, HERE), (PHARMACIST, HERE)):
        with pytest.raises(NotFound):
            policy.check_reads_queue(principal, clinic)


def test_a_history_shows_own_entries_or_the_clinics_read() -> None:
    patient_id = uuid.uuid4()
    assert policy.history_clinics(PATIENT, PATIENT.user_id) is None
    assert policy.history_clinics(ADMIN, patient_id) is None
    assert policy.history_clinics(DOCTOR_HERE, patient_id) == frozenset({HERE})
    for principal in (PATIENT, PHARMACIST):
        with pytest.raises(NotFound):
            policy.history_clinics(principal, patient_id)


def test_a_clinics_policy_is_hidden_across_tenants_and_guarded_by_permission() -> None:
    policy.check_clinic_settings(ADMIN, TENANT, HERE, Permission.CLINICS_UPDATE)
    policy.check_clinic_settings(DOCTOR_HERE, TENANT, HERE, Permission.CLINICS_READ)
    with pytest.raises(NotFound):
        policy.check_clinic_settings(ADMIN, uuid.uuid4(), HERE, Permission.CLINICS_READ)
    with pytest.raises(NotFound):
        policy.check_clinic_settings(DOCTOR_HERE, TENANT, ELSEWHERE, Permission.CLINICS_READ)
    with pytest.raises(Forbidden):
        policy.check_clinic_settings(DOCTOR_HERE, TENANT, HERE, Permission.CLINICS_UPDATE)
