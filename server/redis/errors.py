"""The one place redis-py's failures become Tandem's: ``StoreUnavailable``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import RedisError

from server.core.errors import StoreUnavailable


@contextmanager
def translated() -> Iterator[None]:
    """Redis errors as StoreUnavailable. A command written just as its connection closes can
    fail with the event loop's RuntimeError (uvloop: "the handler is closed") instead of a
    ConnectionError; redis-py drops that connection all the same, so it is an outage too."""
    try:
        yield
    except RedisError as exc:
        raise StoreUnavailable(f"Redis unavailable: {exc}") from exc
    except RuntimeError as exc:
        if "closed" not in str(exc):
            raise
        raise StoreUnavailable(f"Redis unavailable: {exc}") from RedisError(str(exc))
