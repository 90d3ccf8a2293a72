"""Every Redis key and channel name Tandem uses, in one place.

Per-dashboard names carry the dashboard id in a hash tag (``{...}``) so that a dashboard's queue,
lock and presence structures land in one Redis Cluster slot: the Lua scripts that touch several
of them at once (token-checked trim of the queue, presence sweep) stay single-slot.

```
{prefix}ops:{<dashboard>}:queue         list    submit records waiting for the sequencer
{prefix}ops:{<dashboard>}:lock          string  sequencer lock (random token, PX ttl)
{prefix}ops:pending                     set     dashboards that may have a non-empty queue
{prefix}dash:{<dashboard>}              channel committed ops and rejections, one message a batch
{prefix}presence:{<dashboard>}          channel presence updates
{prefix}presence:{<dashboard>}:values   hash    client id -> latest presence value
{prefix}presence:{<dashboard>}:expiry   zset    client id -> expiry time (ms since the epoch)
{prefix}presence:{<dashboard>}:owners   hash    client id -> the connection (src) that owns it
{prefix}hub:<gateway>                   channel private to one gateway process
{prefix}sequencers                      channel dashboards with records for a sequencer to take
{prefix}access                          channel access changes (sessions, users, roles) for every gateway
{prefix}connections:<user>              zset    a user's live connections (connection registry)
{prefix}ratelimit:<scope>:<who>:<window> string counter with an expiry
{prefix}cache:{<dashboard>}:roles       hash    user -> role on the dashboard ('-': none), with a TTL
{prefix}cache:{<dashboard>}:meta        string  the dashboard's metadata (JSON), with a TTL
{prefix}cache:{<dashboard>}:access      string  generation: bumped by every access change of the dashboard
{prefix}cache:{<dashboard>}:change      string  generation: bumped by every change of its metadata (commits too)
{prefix}cache:session:<token sha256>    string  a live session (JSON; '-': forgotten), with a TTL
{prefix}cache:user:<user>               string  a user's profile (JSON; '-': forgotten), with a TTL
```

The cache keys of a dashboard share its hash tag, so the scripts that check a generation before
they write (:mod:`server.access.cache`) stay single-slot; a session is keyed by its token's
SHA-256 in hex, never by the token.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.core.ids import DashboardId, UserId


@dataclass(frozen=True)
class Keys:
    prefix: str = "tandem:"

    def queue(self, dashboard_id: DashboardId) -> str:
        return f"{self.prefix}ops:{{{dashboard_id}}}:queue"

    def lock(self, dashboard_id: DashboardId) -> str:
        return f"{self.prefix}ops:{{{dashboard_id}}}:lock"

    def pending(self) -> str:
        return f"{self.prefix}ops:pending"

    def ops_channel(self, dashboard_id: DashboardId) -> str:
        return f"{self.prefix}dash:{{{dashboard_id}}}"

    def presence_channel(self, dashboard_id: DashboardId) -> str:
        return f"{self.prefix}presence:{{{dashboard_id}}}"

    def presence_values(self, dashboard_id: DashboardId) -> str:
        return f"{self.prefix}presence:{{{dashboard_id}}}:values"

    def presence_expiry(self, dashboard_id: DashboardId) -> str:
        return f"{self.prefix}presence:{{{dashboard_id}}}:expiry"

    def presence_owners(self, dashboard_id: DashboardId) -> str:
        return f"{self.prefix}presence:{{{dashboard_id}}}:owners"

    def hub_channel(self, gateway_id: str) -> str:
        return f"{self.prefix}hub:{gateway_id}"

    def sequencers_channel(self) -> str:
        return f"{self.prefix}sequencers"

    def access_channel(self) -> str:
        return f"{self.prefix}access"

    def connections(self, user_id: UserId) -> str:
        return f"{self.prefix}connections:{user_id}"

    def rate_limit(self, scope: str, who: str, window: int) -> str:
        """A counter for ``who`` (a user or connection id) in fixed window number ``window``."""
        return f"{self.prefix}ratelimit:{scope}:{who}:{window}"

    def cache_roles(self, dashboard_id: DashboardId) -> str:
        return f"{self.prefix}cache:{{{dashboard_id}}}:roles"

    def cache_meta(self, dashboard_id: DashboardId) -> str:
        return f"{self.prefix}cache:{{{dashboard_id}}}:meta"

    def cache_access(self, dashboard_id: DashboardId) -> str:
        return f"{self.prefix}cache:{{{dashboard_id}}}:access"

    def cache_change(self, dashboard_id: DashboardId) -> str:
        return f"{self.prefix}cache:{{{dashboard_id}}}:change"

    def cache_session(self, token_hash: bytes) -> str:
        return f"{self.prefix}cache:session:{token_hash.hex()}"

    def cache_user(self, user_id: UserId) -> str:
        return f"{self.prefix}cache:user:{user_id}"
