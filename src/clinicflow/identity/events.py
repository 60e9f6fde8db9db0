"""What identity publishes and subscribes to.

Published (by database triggers, migration 0006, so every writer is covered):
`principal_changed` with `s:<session id>`, `u:<user or platform admin id>` or `*`,
whenever a session, user, platform admin or role grant changes in a way that
changes a principal.

Subscribed: the same channel, to keep this process's `PrincipalCache` honest.
"""

from __future__ import annotations

from clinicflow.identity.auth.principals import PrincipalCache
from clinicflow.platform.listener import Listener

PRINCIPAL_CHANNEL = "principal_changed"


def register(listener: Listener, principals: PrincipalCache) -> None:
    """Drop cached principals on change notifications, forget all after a reconnection, and
    trust the cache only while the channel is listened to (app build calls this)."""
    listener.subscribe(PRINCIPAL_CHANNEL, principals.forget)
    listener.on_reset(principals.clear)
    principals.trust_while(lambda: listener.listening(PRINCIPAL_CHANNEL))
