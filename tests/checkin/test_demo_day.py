"""`make run`'s demo has a live clinic day: patients waiting at a desk with a QR code, one with
the doctor, and the demo patient's visit left for her to scan in."""

from __future__ import annotations

from sqlalchemy import text

from clinicflow.app import AppConfig
from clinicflow.config import Settings
from clinicflow.demo import live_day, seed_demo
from clinicflow.platform.db import Database


async def test_the_demo_day_is_live_once_per_day(database: Database, settings: Settings) -> None:
    config = AppConfig.build(settings, None)
    async with database.transaction() as uow:
        assert await seed_demo(uow)
    async with database.transaction() as uow:
        assert await live_day(uow, config.scheduling, config.checkin)
    async with database.transaction() as uow:
        assert not await live_day(uow, config.scheduling, config.checkin)  # today is live already
        rows = (
            await uow.session.execute(
                text(
                    "SELECT c.queue_status, count(*) FROM check_ins c "
                    "JOIN clinic_locations l ON l.id = c.location_id "
                    "WHERE l.name = 'Reception desk' GROUP BY c.queue_status"
                )
            )
        ).all()
        desks = (
            (await uow.session.execute(text("SELECT qr_mode FROM checkin_locations ORDER BY qr_mode")))
            .scalars()
            .all()
        )
        priya = (
            (
                await uow.session.execute(
                    text(
                        "SELECT a.status FROM appointments a JOIN users u ON u.id = a.patient_id "
                        "WHERE u.email = 'patient@demo.clinicflow.test' AND a.reason = 'Walk-in clinic'"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert dict(rows) == {"waiting": 4, "in_consultation": 1}
    assert desks == ["printed", "rotating"]
    assert priya == ["scheduled"]
