"""Per-request context that services may read without knowing about HTTP.

Set by the HTTP middleware; empty in jobs and CLI commands.
"""

from __future__ import annotations

import contextvars

#: The current request's id (also stamped on every log line).
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "clinicflow_request_id", default=None
)
#: The client's address as the server saw it (after trusted proxy headers).
client_address_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "clinicflow_client_address", default=None
)
