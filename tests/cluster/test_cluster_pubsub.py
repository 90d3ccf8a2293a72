"""The pub/sub connection on a real Redis Cluster: when its node is killed it moves to another
node, subscribes again to every channel, and hears what is published there."""

from __future__ import annotations

import asyncio
import secrets
import time

import redis

from loadtests.redis_cluster import RedisCluster
from server.fanout.subscriber import Subscriber
from server.redis.cluster import ClusterResp
from server.redis.resp import Endpoint
from tests.server.test_hub_subscriber import Handler


async def test_the_cluster_client_lists_every_node_masters_first(
    redis_cluster: RedisCluster,
) -> None:
    client = ClusterResp.from_url(redis_cluster.url)
    try:
        nodes = await client.nodes()
    finally:
        await client.aclose()
    assert sorted(n.port for n in nodes) == sorted(redis_cluster.ports)
    assert [redis_cluster.role(n.port) for n in nodes] == ["master"] * 3 + ["slave"] * 3


async def test_a_killed_node_s_subscriber_moves_and_hears_again(
    redis_cluster: RedisCluster,
) -> None:
    seed = redis_cluster.ports[0]
    client = ClusterResp.from_url(redis_cluster.url, timeout=2.0)
    subscriber = Subscriber(
        Endpoint.from_url(redis_cluster.url),
        private_channel=f"t:hub:{secrets.token_hex(4)}",
        nodes=client.nodes,
    )
    channel = f"t:chan:{secrets.token_hex(4)}"
    handler = Handler()
    await subscriber.start()
    try:
        subscriber.route(channel, handler)
        await handler.wait_for(1)
        redis_cluster.kill(seed)
        killed = time.monotonic()
        # Subscribed again elsewhere: the confirmation is the handler's cue to catch up ...
        await handler.wait_for(2)
        assert handler.seen == [("subscribe", None), ("subscribe", None)]
        assert subscriber.endpoint.port != seed
        # ... and a publication on any live node reaches it, within seconds of the kill.
        publisher = redis.Redis(port=next(p for p in redis_cluster.alive()), socket_timeout=2)
        with publisher:
            while len(handler.seen) < 3:
                assert time.monotonic() - killed < 5, "nothing heard 5 s after the kill"
                await asyncio.to_thread(publisher.publish, channel, b"after")
                await asyncio.sleep(0.1)
        assert handler.seen[2] == ("message", b"after")
    finally:
        await subscriber.close()
        await client.aclose()
        await asyncio.to_thread(redis_cluster.revive)
