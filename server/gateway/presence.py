"""What one connection may do with presence: its ids are its own, its values are bounded.

A presence id is bound to the connection (its ``src``) that first set a value for it, in Redis
(:meth:`server.presence.relay.PresenceStore.claim`), so no other connection can overwrite or
clear it; the owner's removal releases it. A connection remembers the ids it holds, so only
the first value for an id costs a Redis round trip. Values are limited in size, ids per
connection and per dashboard in number; a removal of an id the connection does not hold is
acknowledged and does nothing.
"""

from __future__ import annotations

import orjson

from server.core.codes import Code
from server.core.ids import DashboardId
from server.core.settings import Settings
from server.core.submission import Hub, PresenceUpdate
from server.protocol.errors import ProtocolError

MAX_PRESENCE_ID = 128  # characters


class PresenceGuard:
    def __init__(self, hub: Hub, settings: Settings) -> None:
        self._hub = hub
        self._max_bytes = settings.presence_max_bytes
        self._per_connection = settings.presence_per_connection
        self._per_dashboard = settings.presence_per_dashboard
        self._held: set[tuple[DashboardId, str]] = set()

    def check(self, presence_id: str, value: object, where: dict[str, object]) -> None:
        """Refuse an id or a value that is too large (before anything is recorded)."""
        if len(presence_id) > MAX_PRESENCE_ID:
            raise ProtocolError(
                Code.INVALID_MESSAGE, f"'id' is longer than {MAX_PRESENCE_ID}", echo=where
            )
        if value is not None and len(orjson.dumps(value)) > self._max_bytes:
            raise ProtocolError(
                Code.PRESENCE_TOO_LARGE,
                f"a presence value is at most {self._max_bytes} bytes",
                echo=where,
            )

    async def admit(self, update: PresenceUpdate, where: dict[str, object]) -> bool:
        """May ``update`` be published? False: a removal of nothing this connection holds."""
        key = (update.dashboard_id, update.client_id)
        if key in self._held:
            if update.value is None:
                self._held.discard(key)  # the removal releases the id
            return True
        if update.value is None:
            return False
        if len(self._held) >= self._per_connection:
            raise ProtocolError(
                Code.TOO_MANY_PRESENCES,
                f"at most {self._per_connection} presence ids per connection",
                echo=where,
            )
        claim = await self._hub.claim_presence(update, self._per_dashboard)
        if claim == "taken":
            raise ProtocolError(
                Code.PRESENCE_NOT_OWNED, "another connection holds this presence id", echo=where
            )
        if claim == "full":
            raise ProtocolError(
                Code.TOO_MANY_PRESENCES,
                f"at most {self._per_dashboard} presence ids per dashboard",
                echo=where,
            )
        self._held.add(key)
        return True

    def released(self, updates: list[PresenceUpdate]) -> None:
        """These removals (the connection leaving a channel, or closing) release their ids."""
        for update in updates:
            self._held.discard((update.dashboard_id, update.client_id))
