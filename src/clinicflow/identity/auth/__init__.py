"""Authentication use cases: login, tokens, sessions, registration, OTP, passwords, principals.

Callers own the unit of work; nothing here commits. Use cases that fail
but must leave a trail (a failed login, a reused refresh token, a wrong OTP)
return a `Failure` instead of raising, so the caller commits the audit
event (and the attempt counter) and then answers 401.

The package's public surface, by use case:

- `config`: `AuthConfig`, `TokenPair`, `Failure`;
- `login`: `login` (tenant users and platform admins);
- `sessions`: `refresh`, `logout`, `list_sessions`, `revoke_session`;
- `registration`: `register_patient`;
- `otp`: `request_otp`, `verify_otp`;
- `recovery`: `forgot_password`, `reset_password`, `change_password`;
- `principals`: `load_principal`, `PrincipalCache`, `resolve_principal` (the request's
  principal, from the cache when it can be trusted).
"""

from __future__ import annotations

from clinicflow.identity.auth.config import AuthConfig, Failure, TokenPair
from clinicflow.identity.auth.login import login
from clinicflow.identity.auth.otp import request_otp, verify_otp
from clinicflow.identity.auth.principals import (
    PrincipalCache,
    announce_principal_change,
    load_principal,
    resolve_principal,
)
from clinicflow.identity.auth.recovery import change_password, forgot_password, reset_password
from clinicflow.identity.auth.registration import register_patient
from clinicflow.identity.auth.sessions import list_sessions, logout, refresh, revoke_session

__all__ = [
    "AuthConfig",
    "Failure",
    "PrincipalCache",
    "TokenPair",
    "announce_principal_change",
    "change_password",
    "forgot_password",
    "list_sessions",
    "load_principal",
    "login",
    "logout",
    "refresh",
    "register_patient",
    "request_otp",
    "reset_password",
    "resolve_principal",
    "revoke_session",
    "verify_otp",
]
