"""The server-rendered apps, mounted on the API's app: sign-in and the patient app so far."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from clinicflow.config import Environment, Settings
from clinicflow.web import (
    booking,
    desk,
    desk_booking,
    desk_checkin,
    desk_family,
    desk_waitlist,
    display,
    doctor,
    doctor_planner,
    doctor_queue,
    patient,
    patient_appointment,
    patient_checkin,
    patient_family,
    patient_profile,
    patient_waitlist,
    signin,
)
from clinicflow.web.admin import checkin_pages, clinic_policies, clinics, grants, locations, trail, users
from clinicflow.web.admin import home as admin_home
from clinicflow.web.session import CookieSigner


def install(app: FastAPI, settings: Settings) -> None:
    """Add the page routes and what they share (cookie signer, cookie policy)."""
    app.state.cookie_signer = CookieSigner(
        settings.secret_key or "", idle_timeout=timedelta(minutes=settings.web_idle_timeout_minutes)
    )
    app.state.secure_cookies = settings.env not in {Environment.DEV, Environment.TEST}
    app.include_router(signin.router)
    app.include_router(patient.router)
    app.include_router(booking.router)
    app.include_router(patient_appointment.router)
    app.include_router(patient_checkin.router)
    app.include_router(patient_family.router)
    app.include_router(patient_waitlist.router)
    app.include_router(patient_profile.router)
    app.include_router(doctor.router)
    app.include_router(doctor_planner.router)
    app.include_router(doctor_queue.router)
    app.include_router(desk.router)
    app.include_router(desk_booking.router)
    app.include_router(desk_checkin.router)
    app.include_router(desk_family.router)
    app.include_router(desk_waitlist.router)
    app.include_router(admin_home.router)
    app.include_router(clinics.router)
    app.include_router(locations.router)
    app.include_router(checkin_pages.router)
    app.include_router(users.router)
    app.include_router(grants.router)
    app.include_router(clinic_policies.router)
    app.include_router(trail.router)
    app.include_router(display.router)
