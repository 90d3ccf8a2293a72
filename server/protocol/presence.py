"""One connection's presence state, without I/O: the channels it listens to and what it shows.

Part of :class:`~server.protocol.session.Session` (its presence half): what a client shows is
cleared when it unsubscribes from the channel or leaves, as ShareDB's agent does.
"""

from __future__ import annotations

from server.core.codes import Code
from server.core.ids import DashboardId
from server.core.submission import PresenceUpdate
from server.protocol import message as m
from server.protocol import outgoing
from server.protocol.errors import ProtocolError
from server.protocol.names import echo
from server.protocol.outgoing import Out


class PresenceState:
    src: str

    def __init__(self) -> None:
        self._presence_channels: set[DashboardId] = set()
        # (dashboard, presence id) -> (presence version, doc version) of this client's presences
        # that are not null, so they can be cleared when it leaves.
        self._own_presence: dict[tuple[DashboardId, str], tuple[int, int]] = {}

    def _sent_version(self, dashboard: DashboardId) -> int | None:
        """The version of the dashboard this connection has been sent (None: not subscribed)."""
        raise NotImplementedError

    def presence_subscribed(self, dashboard: DashboardId) -> bool:
        """True: a new presence listener is needed."""
        if dashboard in self._presence_channels:
            return False
        self._presence_channels.add(dashboard)
        return True

    def presence_unsubscribed(self, dashboard: DashboardId) -> tuple[bool, list[PresenceUpdate]]:
        """Whether a listener goes away, and this client's presences there to clear (as
        ShareDB's agent does when a presence subscription ends)."""
        was = dashboard in self._presence_channels
        self._presence_channels.discard(dashboard)
        return was, self._clear_presence(dashboard)

    def presence_update(
        self, message: m.PresenceSend, dashboard: DashboardId, *, max_lag: int | None = None
    ) -> PresenceUpdate:
        """The update to publish. The doc version says which document state the value refers
        to, so it can be carried through the ops that follow. ShareDB's doc presence sends it
        as ``v``; its channel presence (``connection.getPresence``) sends none, and is then
        taken to refer to the version this connection has been sent of the dashboard. A ``v``
        more than ``max_lag`` versions behind that is refused."""
        version = message.version
        head = self._sent_version(dashboard)
        if version is None:
            version = head
        elif max_lag is not None and head is not None and head - version > max_lag:
            raise ProtocolError(
                Code.PRESENCE_TOO_OLD,
                f"'v' is {head - version} versions behind; at most {max_lag}",
                echo=echo(message),
            )
        if version is None and message.value is not None:
            raise ProtocolError(
                Code.INVALID_MESSAGE,
                "a presence needs 'v', or a subscription to its dashboard",
                echo=echo(message),
            )
        update = PresenceUpdate(
            dashboard_id=dashboard,
            client_id=message.presence_id,
            src=self.src,
            seq=message.presence_version,
            version=version if version is not None else 0,
            value=message.value,
        )
        return update

    def presence_published(self, update: PresenceUpdate) -> None:
        """``update`` (of :meth:`presence_update`) was admitted: this client shows it now."""
        key = (update.dashboard_id, update.client_id)
        if update.value is None:
            self._own_presence.pop(key, None)
        else:
            self._own_presence[key] = (update.seq, update.version)

    def presence_received(self, update: PresenceUpdate) -> list[Out]:
        if update.dashboard_id not in self._presence_channels or update.src == self.src:
            return []
        return [outgoing.presence(update)]

    def presence_snapshot(self, dashboard: DashboardId, updates: list[PresenceUpdate]) -> list[Out]:
        return [out for update in updates for out in self.presence_received(update)]

    def presence_channels(self) -> list[DashboardId]:
        return list(self._presence_channels)

    def closing(self) -> list[PresenceUpdate]:
        """Null presences for everything this client still shows, to publish as it leaves."""
        gone: list[PresenceUpdate] = []
        for dashboard in {d for d, _ in self._own_presence}:
            gone.extend(self._clear_presence(dashboard))
        return gone

    def _clear_presence(self, dashboard: DashboardId) -> list[PresenceUpdate]:
        gone = []
        for key, (pv, version) in list(self._own_presence.items()):
            if key[0] != dashboard:
                continue
            del self._own_presence[key]
            gone.append(
                PresenceUpdate(
                    dashboard_id=dashboard,
                    client_id=key[1],
                    src=self.src,
                    seq=pv + 1,
                    version=version,
                    value=None,
                )
            )
        return gone
