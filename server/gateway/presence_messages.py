"""Presence messages: send, subscribe, unsubscribe and request on a dashboard's channel.

The session shapes and orders them; :class:`~server.gateway.presence.PresenceGuard` bounds
what one client may hold; the hub carries them between processes.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING

from server.core import metrics
from server.core.codes import Code
from server.core.submission import PresenceUpdate
from server.protocol import message as m
from server.protocol import outgoing
from server.protocol.errors import ProtocolError
from server.protocol.names import channel_dashboard, echo

if TYPE_CHECKING:
    from server.gateway.dispatch import Dispatcher


async def send(d: Dispatcher, message: m.PresenceSend) -> None:
    where = echo(message)
    dashboard = channel_dashboard(message.channel, where)
    if message.doc is not None and (
        message.collection != outgoing.COLLECTION or message.doc != str(dashboard)
    ):
        raise ProtocolError(Code.INVALID_MESSAGE, "'c'/'d' do not match 'ch'", echo=where)
    await d.role(dashboard, where)
    if not d.presence_bucket.take(time.monotonic()):
        raise ProtocolError(Code.RATE_LIMITED, "too many presence updates", echo=where)
    d.presence.check(message.presence_id, message.value, where)
    metrics.PRESENCE_UPDATES.inc()
    max_lag = d.services.settings.presence_max_lag
    update = d.session.presence_update(message, dashboard, max_lag=max_lag)
    if await d.presence.admit(update, where):
        d.session.presence_published(update)
        await d.hub.publish_presence(update)
    d.link.send(outgoing.presence(update))


async def subscribe(d: Dispatcher, message: m.PresenceSubscribe) -> None:
    where = echo(message)
    dashboard = channel_dashboard(message.channel, where)
    role = await d.role(dashboard, where)
    if d.session.presence_subscribed(dashboard):
        d.presence_listeners[dashboard] = d.hub.listen_presence(dashboard, partial(_received, d))
        d.standing.watch(dashboard, role)
    current = await d.hub.presence_snapshot(dashboard)
    d.link.send(outgoing.presence_subscription("ps", message.channel, message.seq))
    for reply in d.session.presence_snapshot(dashboard, current):
        d.link.send(reply)


async def unsubscribe(d: Dispatcher, message: m.PresenceUnsubscribe) -> None:
    dashboard = channel_dashboard(message.channel, echo(message))
    was, gone = d.session.presence_unsubscribed(dashboard)
    if was:
        d.unlisten_presence(dashboard)
    d.presence.released(gone)
    for update in gone:
        await d.hub.publish_presence(update)
    d.link.send(outgoing.presence_subscription("pu", message.channel, message.seq))


async def request(d: Dispatcher, message: m.PresenceRequest) -> None:
    where = echo(message)
    dashboard = channel_dashboard(message.channel, where)
    await d.role(dashboard, where)
    current = await d.hub.presence_snapshot(dashboard)
    for reply in d.session.presence_snapshot(dashboard, current):
        d.link.send(reply)


def _received(d: Dispatcher, update: PresenceUpdate) -> None:
    for message in d.session.presence_received(update):
        d.link.push(message)
