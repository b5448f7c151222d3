"""A per-address request budget for the public configurator (its pages and its API alike).

``CONFIGURATOR_RATE_LIMIT`` ("120/min") is counted in fixed windows in Django's cache, keyed by the
client's address as ``sfa.auth.client_address`` reads it (behind our proxies: their X-Forwarded-For
entry). With several web processes the cache must be shared (Redis) for the budget to be global.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from sfa.auth import client_address

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400}
PERIODS["day"] = 86400


def parse_rate(rate: str) -> tuple[int, int]:
    """ "120/min" -> (120, 60): requests allowed per period of seconds."""
    count, _, period = (rate or "").partition("/")
    try:
        allowed = int(count)
        seconds = PERIODS[period.strip().lower()]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(
            f"CONFIGURATOR_RATE_LIMIT={rate!r}: write it as a number of requests per s, min, hour or day, e.g. 120/min."
        ) from None
    if allowed < 1:
        raise ImproperlyConfigured(f"CONFIGURATOR_RATE_LIMIT={rate!r}: allow at least one request.")
    return allowed, seconds


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window ends


def hit(request, scope: str = "configurator") -> Verdict:
    """Count one request of this client; not allowed once its budget for the current window is spent."""
    allowed, period = parse_rate(settings.CONFIGURATOR_RATE_LIMIT)
    now = time.time()
    window = int(now // period)
    address = hashlib.sha256(client_address(request).encode()).hexdigest()[:24]
    key = f"sfa:ratelimit:{scope}:{address}:{window}"
    cache.add(key, 0, period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, period + 1)
        count = 1
    return Verdict(allowed=count <= allowed, retry_after=max(1, int(period - now % period)))
