"""Users, sessions, roles, share links, the dashboard list and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from server.core.errors import BadRequest, Conflict, NotFound
from server.core.ids import DashboardId, UserId
from server.store.access import Access
from server.store.accounts import Accounts
from server.store.audit import AuditLog
from server.store.catalog import Catalog
from server.store.postgres import PostgresStore
from tests.store.conftest import document, new_user, retitle


def _hash() -> bytes:
    return hashlib.sha256(secrets.token_bytes(32)).digest()


async def test_users_are_unique_case_insensitively(accounts: Accounts) -> None:
    name = "ann" + secrets.token_hex(4)
    user_id = await accounts.create_user(f"{name}@Example.com", name, "argon-hash")
    user = await accounts.get_user(user_id)
    assert (user.username, user.password_hash, user.is_active) == (name, "argon-hash", True)
    assert "argon-hash" not in repr(user)
    with pytest.raises(Conflict):
        await accounts.create_user(f"{name.upper()}@example.com", "other" + name)
    with pytest.raises(Conflict):
        await accounts.create_user(f"x{name}@example.com", name.upper())
    assert (await accounts.find_user(name.upper())) == user
    assert (await accounts.find_user(f"{name}@EXAMPLE.com")) == user
    assert await accounts.find_user("nobody-" + name) is None
    with pytest.raises(NotFound):
        await accounts.get_user(UserId(uuid4()))


async def test_sessions_live_until_revoked_or_expired(accounts: Accounts) -> None:
    user = await new_user(accounts)
    live, expired, revoked = _hash(), _hash(), _hash()
    now = datetime.now(UTC)
    await accounts.create_session(user, live, now + timedelta(hours=1))
    await accounts.create_session(user, expired, now - timedelta(seconds=1))
    await accounts.create_session(user, revoked, now + timedelta(hours=1))
    assert await accounts.revoke_session(revoked)
    assert not await accounts.revoke_session(revoked)
    assert await accounts.user_for_session(live) == user
    assert await accounts.user_for_session(expired) is None
    assert await accounts.user_for_session(revoked) is None
    assert await accounts.user_for_session(_hash()) is None
    with pytest.raises(Conflict):
        await accounts.create_session(user, live, now + timedelta(hours=1))
    with pytest.raises(NotFound):
        await accounts.create_session(UserId(uuid4()), _hash(), now)
    assert await accounts.revoke_sessions(user) == 1
    assert await accounts.user_for_session(live) is None


async def test_roles_owner_collaborators_and_strangers(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    access = Access(pg_store.pool)
    owner, editor, stranger = [await new_user(accounts) for _ in range(3)]
    d = (
        await pg_store.create_dashboard(owner_id=owner, title="r", document=document("r"))
    ).dashboard_id
    await access.add_collaborator(d, editor, "viewer")
    await access.add_collaborator(d, editor, "editor", added_by=owner)
    assert await access.role_for(d, owner) == "admin"
    assert await access.role_for(d, editor) == "editor"
    assert await access.role_for(d, stranger) is None
    assert await access.role_for(DashboardId(uuid4()), owner) is None
    assert [(c.user_id, c.role) for c in await access.collaborators(d)] == [(editor, "editor")]
    with pytest.raises(BadRequest):
        await access.add_collaborator(d, stranger, "owner")
    with pytest.raises(NotFound):
        await access.add_collaborator(d, UserId(uuid4()), "viewer")
    assert await access.remove_collaborator(d, editor)
    assert await access.role_for(d, editor) is None


async def test_share_links(pg_store: PostgresStore, accounts: Accounts) -> None:
    access = Access(pg_store.pool)
    owner = await new_user(accounts)
    d = (
        await pg_store.create_dashboard(owner_id=owner, title="s", document=document("s"))
    ).dashboard_id
    token, old = _hash(), _hash()
    link = await access.create_share_link(
        d, token_hash=token, role="viewer", created_by=owner, password_hash="pw-hash"
    )
    await access.create_share_link(
        d, token_hash=old, role="editor", created_by=owner,
        expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )  # fmt: skip
    found = await access.share_link_for(token)
    assert found is not None and (found.id, found.role, found.password_hash) == (
        link.id,
        "viewer",
        "pw-hash",
    )
    assert await access.share_link_for(old) is None
    assert len(await access.share_links(d)) == 2
    await Catalog(pg_store.pool).set_archived(d)
    assert await access.share_link_for(token) is None
    await Catalog(pg_store.pool).set_archived(d, False)
    assert await access.revoke_share_link(link.id)
    assert await access.share_link_for(token) is None


async def test_dashboard_list_search_and_paging(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    catalog = Catalog(pg_store.pool)
    access = Access(pg_store.pool)
    me, other = await new_user(accounts), await new_user(accounts)
    mine = [
        (await pg_store.create_dashboard(owner_id=me, title=t, document=document(t))).dashboard_id
        for t in ("Latency 100%", "Cost report", "Archived latency")
    ]
    shared = (
        await pg_store.create_dashboard(
            owner_id=other, title="Team latency", document=document("x")
        )
    ).dashboard_id
    hidden = (
        await pg_store.create_dashboard(
            owner_id=other, title="Private latency", document=document("y")
        )
    ).dashboard_id
    await access.add_collaborator(shared, me, "viewer")
    await catalog.set_archived(mine[2])
    listed = await catalog.dashboards_for(me)
    assert {s.id for s in listed} == {mine[0], mine[1], shared}
    assert hidden not in {s.id for s in listed}
    by_id = {s.id: s for s in listed}
    assert (by_id[shared].role, by_id[mine[0]].role) == ("viewer", "admin")
    assert by_id[shared].collaborator_count == 1
    assert {s.id for s in await catalog.dashboards_for(me, include_archived=True)} >= set(mine)
    assert [s.id for s in await catalog.dashboards_for(me, title_contains="100%")] == [mine[0]]
    assert await catalog.dashboards_for(me, title_contains="_") == []
    found = await catalog.dashboards_for(me, search="latency")
    assert {s.id for s in found} == {mine[0], shared}
    page = await catalog.dashboards_for(me, limit=2)
    rest = await catalog.dashboards_for(me, limit=2, skip=2)
    assert len(page) == 2 and len(rest) == 1 and {s.id for s in page + rest} == set(by_id)
    with pytest.raises(BadRequest):
        await catalog.dashboards_for(me, limit=0)
    # A title changed by an op is what the list and the search see.
    await pg_store.commit(
        mine[1], base_version=1, epoch=0, ops=[retitle("Cost report", "Spend", 1)],
        document=document("Spend"),
    )  # fmt: skip
    assert [s.id for s in await catalog.dashboards_for(me, search="spend")] == [mine[1]]
    info = await catalog.get_dashboard(mine[1])
    assert (info.title, info.head_version, info.owner_id) == ("Spend", 2, me)


async def test_audit_log(pg_store: PostgresStore, accounts: Accounts) -> None:
    audit = AuditLog(pg_store.pool)
    user = await new_user(accounts)
    d = DashboardId(uuid4())
    await audit.write_audit("share.created", user, d, {"role": "viewer"}, ip="192.0.2.7")
    await audit.write_audit("session.created", user, ip="2001:db8::1")
    entries = await audit.list_audit(user_id=user)
    assert [e.action for e in entries] == ["session.created", "share.created"]
    assert (entries[1].dashboard_id, entries[1].details, entries[1].ip) == (
        d,
        {"role": "viewer"},
        "192.0.2.7",
    )
    assert [e.action for e in await audit.list_audit(dashboard_id=d)] == ["share.created"]
    with pytest.raises(BadRequest):
        await audit.write_audit("x", user, ip="not-an-ip")
