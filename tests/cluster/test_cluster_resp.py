"""The lean client on a real Redis Cluster: slot routing, MOVED, ASK, scripts, a failover."""

from __future__ import annotations

import asyncio
import secrets

from redis.exceptions import ConnectionError as RedisConnectionError

from loadtests.redis_cluster import RedisCluster, live_replicas
from server.redis.cluster import ClusterResp
from server.redis.resp import Script
from server.redis.slots import key_slot


def _tag() -> str:
    return secrets.token_hex(4)


async def test_slots_agree_with_the_cluster(redis_cluster: RedisCluster) -> None:
    with redis_cluster.client(redis_cluster.ports[0]) as c:
        for key in ("123456789", "foo", "{user1000}.following", f"x{{{_tag()}}}y"):
            assert key_slot(key) == int(c.execute_command("CLUSTER", "KEYSLOT", key))


async def test_commands_and_pipelines_reach_every_master(redis_cluster: RedisCluster) -> None:
    client = ClusterResp.from_url(redis_cluster.url)
    try:
        keys = [f"t:{{{_tag()}}}:k" for _ in range(60)]
        assert len({client.slot_owner(key_slot(k)) for k in keys} - {None}) == 0  # no map yet
        replies = await client.pipeline(*(("SET", k, k) for k in keys), *(("GET", k) for k in keys))
        assert replies[60:] == [k.encode() for k in keys]
        assert len({client.slot_owner(key_slot(k)) for k in keys}) == 3  # spread over 3 masters
        assert await client.call("DEL", keys[0]) == 1
        assert await client.call("GET", keys[0]) is None
    finally:
        await client.aclose()


async def test_a_stale_map_follows_moved(redis_cluster: RedisCluster) -> None:
    client = ClusterResp.from_url(redis_cluster.url)
    try:
        key = f"t:{{{_tag()}}}"
        await client.call("SET", key, "1")
        owner = client.slot_owner(key_slot(key))
        wrong = next(a for a in {client.slot_owner(s) for s in range(16384)} if a != owner)
        client._slots[key_slot(key)] = wrong  # a map gone stale
        assert await client.call("INCR", key) == 2  # ran once, on the right master
        assert client.slot_owner(key_slot(key)) == owner
    finally:
        await client.aclose()


async def test_a_migrating_slot_follows_ask(redis_cluster: RedisCluster) -> None:
    client = ClusterResp.from_url(redis_cluster.url)
    tag = _tag()
    key, fresh = f"t:{{{tag}}}:old", f"t:{{{tag}}}:new"
    slot = key_slot(key)
    try:
        await client.call("SET", key, "old")
        source = redis_cluster.master_of(key)
        target = next(
            p for p in redis_cluster.ports if p != source and _is_master(redis_cluster, p)
        )
        ids = {p: _node_id(redis_cluster, p) for p in (source, target)}
        with redis_cluster.client(target) as t, redis_cluster.client(source) as s:
            t.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[source])
            s.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[target])
            try:
                # The old key is still at the source; a new one is created at the target (ASK).
                assert await client.call("GET", key) == b"old"
                assert await client.call("SET", fresh, "new") == b"OK"
                with redis_cluster.client(target) as direct:
                    direct.execute_command("ASKING")
                    assert direct.execute_command("GET", fresh) == b"new"
            finally:
                with redis_cluster.client(target) as direct:
                    direct.execute_command("ASKING")
                    direct.execute_command("DEL", fresh)
                t.execute_command("CLUSTER", "SETSLOT", slot, "STABLE")
                s.execute_command("CLUSTER", "SETSLOT", slot, "STABLE")
    finally:
        await client.aclose()


async def test_a_script_is_loaded_on_the_master_that_runs_it(redis_cluster: RedisCluster) -> None:
    client = ClusterResp.from_url(redis_cluster.url)
    script = Script(f"return redis.call('INCR', KEYS[1]) .. '{_tag()}'")
    try:
        keys = [f"t:{{{_tag()}}}" for _ in range(30)]
        replies = await asyncio.gather(*(client.run(script, (k,), ()) for k in keys))
        assert all(r.startswith(b"1") for r in replies)
        for port in redis_cluster.alive():
            with redis_cluster.client(port) as c:
                c.execute_command("SCRIPT", "FLUSH")
        # EVALSHA in a pipeline: NOSCRIPT loads it where needed and runs each command once.
        commands = [("EVALSHA", script.sha, 1, k) for k in keys]
        assert all(r.startswith(b"2") for r in await client.pipeline(*commands))
    finally:
        await client.aclose()


async def test_a_killed_master_is_replaced_and_commands_resume(redis_cluster: RedisCluster) -> None:
    client = ClusterResp.from_url(redis_cluster.url, timeout=2.0)
    key = f"t:{{{_tag()}}}"
    try:
        assert await client.call("INCR", key) == 1
        with redis_cluster.client(redis_cluster.master_of(key)) as m:
            assert m.execute_command("WAIT", 1, 2000) == 1  # the replica has it
        redis_cluster.kill(redis_cluster.master_of(key))
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            try:
                value = await client.call("INCR", key)
                break
            except RedisConnectionError:
                assert asyncio.get_running_loop().time() < deadline, "no failover in 20 s"
                await asyncio.sleep(0.2)
        assert value == 2  # the replica took over with the acked write; INCR ran once
    finally:
        await asyncio.to_thread(redis_cluster.revive)
        await client.aclose()


def test_every_node_sees_the_three_replicas(redis_cluster: RedisCluster) -> None:
    # A replica's own line reads "myself,slave": it counts like any other.
    for port in redis_cluster.alive():
        with redis_cluster.client(port) as c:
            nodes = c.execute_command("CLUSTER", "NODES").decode()
        assert len(live_replicas(nodes)) == 3, nodes


def _is_master(cluster: RedisCluster, port: int) -> bool:
    with cluster.client(port) as c:
        return c.info("replication")["role"] == "master"  # type: ignore[no-any-return]


def _node_id(cluster: RedisCluster, port: int) -> str:
    with cluster.client(port) as c:
        return str(c.execute_command("CLUSTER", "MYID").decode())
