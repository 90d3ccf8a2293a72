"""Cluster slot computation against the specification's vectors and Tandem's own key names."""

from __future__ import annotations

import uuid

from server.core.ids import DashboardId
from server.redis.keys import Keys
from server.redis.slots import SLOTS, crc16, hash_tag, key_slot


def test_crc16_matches_the_specification_vector() -> None:
    assert crc16(b"123456789") == 0x31C3
    assert key_slot("123456789") == 0x31C3 % SLOTS == 12739
    assert crc16(b"") == 0


def test_known_slots_agree_with_redis() -> None:
    # CLUSTER KEYSLOT on Redis 6.2 answers these.
    assert key_slot("foo") == 12182
    assert key_slot("bar") == 5061
    assert key_slot("hello") == 866


def test_a_hash_tag_decides_the_slot() -> None:
    assert key_slot("{user1000}.following") == key_slot("{user1000}.followers")
    assert key_slot("{user1000}.following") == key_slot("user1000")
    assert hash_tag(b"foo{}{bar}") == b"foo{}{bar}"  # an empty tag: the whole key
    assert hash_tag(b"foo{{bar}}zap") == b"{bar"
    assert hash_tag(b"foo{bar}{zap}") == b"bar"
    assert hash_tag(b"{unclosed") == b"{unclosed"


def test_every_per_dashboard_key_of_a_dashboard_shares_one_slot() -> None:
    keys = Keys(prefix="tandem-x:")
    for _ in range(20):
        d = DashboardId(uuid.uuid4())
        dashboard = str(d)
        names = [
            keys.queue(d), keys.lock(d), keys.ops_channel(d), keys.presence_channel(d),
            keys.presence_values(d), keys.presence_expiry(d), keys.presence_owners(d),
        ]  # fmt: skip
        assert {key_slot(n) for n in names} == {key_slot(dashboard)}
