"""Live pages: the real time stream authenticated by the page's session cookie.

A page's `EventSource` on `/api/v1/events/stream?channels=patient:<id>` sends the
browser's cookies but cannot send `Authorization`. `stream_principal` is the hook
the real time stream calls last (`RealtimeContext.cookie`, wired by the app): the
principal of the `cf_session` cookie, resolved exactly as a page resolves it
(`web.access.page_principal`: signature, idle timeout, the session still live), or
None so the stream answers 401 like any unauthenticated caller.

The stream is a GET that changes nothing, and `SameSite=Lax` keeps the cookie off
another site's `EventSource`; a request the browser marks cross-site is refused
all the same, so no other site can read a patient's events with their cookie.
Channel rules (`realtime.policy`) apply after this, as for a bearer token.
"""

from __future__ import annotations

from fastapi import Request

from clinicflow.identity.principal import Principal
from clinicflow.web.access import LoginRequired, page_principal
from clinicflow.web.session import cross_site


async def stream_principal(request: Request) -> Principal | None:
    """The page session's principal for a stream request, or None (no, stale or foreign cookie)."""
    if cross_site(request.headers, host=request.url.netloc):
        return None
    try:
        return await page_principal(request)
    except LoginRequired:
        return None
