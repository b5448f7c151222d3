"""A Redis cache that keeps the web app working when Redis is down.

Django's Redis cache raises on every call while the server is unreachable; throttles, the public
configurator's rate limit and a few cached reads sit on every request, so a Redis outage would take
the whole site down. ``ResilientRedisCache`` answers as if the cache were empty instead (a miss; writes
are dropped; counters start again at one), logs the outage at most once a minute, and waits at most
``SOCKET_TIMEOUT`` seconds for a server that does not answer. Rate limits thus fail open for the length
of the outage, which is the lesser harm for a CRM; background jobs fail or wait on their own terms
(``sfa.jobs._enqueue``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
SOCKET_TIMEOUT = 0.5
_last_warning = 0.0


def cache_unreachable(exc: Exception) -> None:
    """Log an outage (once a minute at most: every request would otherwise log it)."""
    global _last_warning
    now = time.monotonic()
    if now - _last_warning > 60:
        _last_warning = now
        logger.warning("the cache (Redis) is unreachable, answering without it: %s", exc)


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = params.setdefault("OPTIONS", {})
        options.setdefault("socket_connect_timeout", SOCKET_TIMEOUT)
        options.setdefault("socket_timeout", SOCKET_TIMEOUT)
        super().__init__(server, params)

    def _safely(self, call, fallback):
        try:
            return call()
        except UNREACHABLE as exc:
            cache_unreachable(exc)
            return fallback

    def get(self, key, default=None, version=None):
        return self._safely(lambda: super(ResilientRedisCache, self).get(key, default, version), default)

    def get_many(self, keys, version=None):
        return self._safely(lambda: super(ResilientRedisCache, self).get_many(keys, version), {})

    def has_key(self, key, version=None):
        return self._safely(lambda: super(ResilientRedisCache, self).has_key(key, version), False)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safely(lambda: super(ResilientRedisCache, self).set(key, value, timeout, version), None)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safely(lambda: super(ResilientRedisCache, self).set_many(data, timeout, version), [])

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safely(lambda: super(ResilientRedisCache, self).add(key, value, timeout, version), True)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safely(lambda: super(ResilientRedisCache, self).touch(key, timeout, version), False)

    def incr(self, key, delta=1, version=None):
        return self._safely(lambda: super(ResilientRedisCache, self).incr(key, delta, version), delta)

    def delete(self, key, version=None):
        return self._safely(lambda: super(ResilientRedisCache, self).delete(key, version), False)

    def delete_many(self, keys, version=None):
        return self._safely(lambda: super(ResilientRedisCache, self).delete_many(keys, version), None)

    def clear(self):
        return self._safely(lambda: super(ResilientRedisCache, self).clear(), None)
