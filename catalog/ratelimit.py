"""A per-address request budget for the public configurator (its pages and its API alike).

``CONFIGURATOR_RATE_LIMIT`` ("120/min") is counted in fixed windows in Django's cache, keyed by the
client's address as ``sfa.auth.client_address`` reads it (behind our proxies: their X-Forwarded-For
entry). With several web processes the cache must be shared (Redis) for the budget to be global.
Another budget (the quote requests' hourly one) passes its own ``rate`` and ``scope`` to ``hit``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured

from sfa.auth import client_address
from sfa.cache import UNREACHABLE, cache_unreachable

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400}
PERIODS["day"] = 86400


def parse_rate(rate: str, *, setting: str = "CONFIGURATOR_RATE_LIMIT") -> tuple[int, int]:
    """ "120/min" -> (120, 60): requests allowed per period of seconds; ``setting`` names it in errors."""
    count, _, period = (rate or "").partition("/")
    try:
        allowed = int(count)
        seconds = PERIODS[period.strip().lower()]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(
            f"{setting}={rate!r}: write it as a number of requests per s, min, hour or day, e.g. 120/min."
        ) from None
    if allowed < 1:
        raise ImproperlyConfigured(f"{setting}={rate!r}: allow at least one request.")
    return allowed, seconds


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window ends


def hit(request, scope: str = "configurator", rate: str | None = None) -> Verdict:
    """Count one request of this client; not allowed once its budget for the current window is spent.

    ``rate`` ("10/hour") is the budget of this ``scope``, CONFIGURATOR_RATE_LIMIT when None; each scope
    counts in its own keys, so a request counted in two scopes spends from both budgets.
    """
    if rate is None:
        allowed, period = parse_rate(settings.CONFIGURATOR_RATE_LIMIT)
    else:
        allowed, period = parse_rate(rate, setting=f"rate limit {scope!r}")
    now = time.time()
    window = int(now // period)
    address = hashlib.sha256(client_address(request).encode()).hexdigest()[:24]
    count = _count(f"sfa:ratelimit:{scope}:{address}:{window}", period + 1)
    return Verdict(allowed=count <= allowed, retry_after=max(1, int(period - now % period)))


def _count(key: str, timeout: int) -> int:
    """Add one to the counter ``key`` (created with ``timeout`` seconds to live) and return its new value.

    On Redis this is one round trip: SET NX and INCR in one MULTI/EXEC (Django's ``add`` then ``incr``
    take three, ``incr`` asking first whether the key exists), which the public configurator pays on every
    request. Keys and values are those Django's cache writes (integers are stored as such), so either way
    counts the same counters.
    """
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        redis_key = backend.make_and_validate_key(key)
        try:
            with _redis_client(backend).pipeline(transaction=True) as pipe:
                pipe.set(redis_key, 0, ex=timeout, nx=True)
                pipe.incr(redis_key)
                return int(pipe.execute()[1])
        except UNREACHABLE as exc:  # Redis down: the budget fails open rather than the page (sfa/cache.py)
            cache_unreachable(exc)
            return 1
    backend.add(key, 0, timeout)
    try:
        return backend.incr(key)
    except ValueError:  # expired between add and incr
        backend.set(key, 1, timeout)
        return 1


_clients: dict[int, tuple[Any, Any]] = {}  # id(connection pool) -> (pool, client)


def _redis_client(backend: RedisCache) -> Any:
    """A client on the cache's primary server, made once per connection pool.

    Django's ``get_client`` builds a new ``redis.Redis`` (and its table of response callbacks) on every call; the
    client is only a handle on the pool, which hands out the connections and is safe to share.
    """
    pool = backend._cache._get_connection_pool(write=True)
    entry = _clients.get(id(pool))
    if entry is None or entry[0] is not pool:
        entry = _clients[id(pool)] = (pool, backend._cache._client(connection_pool=pool))
    return entry[1]
