"""Settings: read from the environment, checked when made, and those that shape the realtime path."""

from __future__ import annotations

import asyncio

import pytest

from server.app import uvicorn_options
from server.cli import EXIT_USAGE, main
from server.core.settings import InvalidSetting, Settings
from server.sequencer.lock import connect


def test_compression_is_off_unless_asked_for() -> None:
    assert not Settings.from_env({}).ws_compression
    assert uvicorn_options(Settings.from_env({}))["ws_per_message_deflate"] is False
    on = Settings.from_env({"TANDEM_WS_COMPRESSION": "true"})
    assert on.ws_compression
    assert uvicorn_options(on)["ws_per_message_deflate"] is True


def test_redis_pool_size_from_env() -> None:
    assert Settings.from_env({"TANDEM_REDIS_POOL_SIZE": "8"}).redis_pool_size == 8


async def test_a_burst_larger_than_the_pool_waits_instead_of_failing(
    redis_url: str, redis_prefix: str
) -> None:
    client = connect(redis_url, max_connections=4)
    key = f"{redis_prefix}test:burst"
    try:
        await asyncio.gather(*(client.incr(key) for _ in range(300)))
        assert await client.get(key) == b"300"
    finally:
        await client.delete(key)
        await client.aclose()


def test_every_setting_is_read_from_its_variable() -> None:
    assert Settings.from_env({}) == Settings()
    env = {
        "TANDEM_BATCH_SIZE": "7",
        "TANDEM_HOLD_LINGER": "0.25",
        "TANDEM_WATCHDOG_INTERVAL": "3",
        "TANDEM_FEED_RECENT_OPS": "9",
        "TANDEM_FEED_POLL_INTERVAL": "1.5",
        "TANDEM_SEQUENCER": "off",
        "TANDEM_ALLOWED_ORIGINS": "https://a.example, https://b.example",
        "TANDEM_LOG_LEVEL": "WARNING",
        "DATABASE_URL": "postgresql://x@127.0.0.1/db",
    }
    settings = Settings.from_env(env)
    assert (settings.batch_size, settings.hold_linger, settings.watchdog_interval) == (7, 0.25, 3)
    assert (settings.feed_recent_ops, settings.feed_poll_interval) == (9, 1.5)
    assert settings.sequencer is False
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.log_level == "warning"
    assert settings.database_url == "postgresql://x@127.0.0.1/db"
    assert "postgresql://" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"TANDEM_WS_COMPRESSION": "ture"}, "TANDEM_WS_COMPRESSION must be a boolean"),
        ({"TANDEM_BATCH_SIZE": "0"}, "TANDEM_BATCH_SIZE must be at least 1"),
        ({"TANDEM_BATCH_SIZE": "ten"}, "TANDEM_BATCH_SIZE must be an integer"),
        ({"TANDEM_SUBMIT_TIMEOUT": "nan"}, "TANDEM_SUBMIT_TIMEOUT must be a finite number"),
        ({"TANDEM_HOLD_LINGER": "-1"}, "TANDEM_HOLD_LINGER must be at least 0"),
        ({"TANDEM_LOG_FORMAT": "xml"}, "TANDEM_LOG_FORMAT must be one of"),
        ({"TANDEM_POOL_MIN_SIZE": "5", "TANDEM_POOL_MAX_SIZE": "2"}, "must not exceed"),
    ],
)
def test_a_bad_value_is_refused_with_its_name(env: dict[str, str], says: str) -> None:
    with pytest.raises(InvalidSetting) as refused:
        Settings.from_env(env)
    assert says in refused.value.message
    assert refused.value.code == "invalid_setting"


def test_the_cli_refuses_a_bad_setting_before_doing_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TANDEM_MIGRATE_ON_START", "maybe")
    assert main(["migrate"]) == EXIT_USAGE
    assert "TANDEM_MIGRATE_ON_START must be a boolean" in capsys.readouterr().err


def test_redis_cluster_needs_a_node_and_database_zero() -> None:
    assert Settings.from_env({}).redis_cluster is False
    on = Settings.from_env({"TANDEM_REDIS_CLUSTER": "true", "REDIS_URL": "redis://h:7000"})
    assert on.redis_cluster is True
    with pytest.raises(InvalidSetting, match="needs REDIS_URL"):
        Settings.from_env({"TANDEM_REDIS_CLUSTER": "yes"})
    with pytest.raises(InvalidSetting, match="only database 0"):
        Settings.from_env({"TANDEM_REDIS_CLUSTER": "1", "REDIS_URL": "redis://h:7000/3"})
    with pytest.raises(InvalidSetting, match="TANDEM_REDIS_CLUSTER must be a boolean"):
        Settings.from_env({"TANDEM_REDIS_CLUSTER": "maybe", "REDIS_URL": "redis://h:7000"})
