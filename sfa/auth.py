"""Sign-in with a brake on password guessing: after ``LOGIN_MAX_FAILURES`` failures for one username
from one address within ``LOGIN_LOCKOUT_SECONDS``, further attempts are refused until the window ends.

Counters live in the cache (Redis in the scaled deployment, so every web process shares them).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError


def client_address(request) -> str:
    """The client's IP address: REMOTE_ADDR, or the entry our own proxies appended to X-Forwarded-For.

    Only the entries added by the ``TRUSTED_PROXY_COUNT`` proxies we run are trusted; anything to
    their left was written by the client and could be forged.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return forwarded[-count] if len(forwarded) >= count else remote


def _key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()[:32]
    return f"sfa:login-failures:{digest}"


def login_failures(username: str, address: str) -> int:
    return cache.get(_key(username, address), 0)


def login_failed(username: str, address: str) -> int:
    key = _key(username, address)
    cache.add(key, 0, settings.LOGIN_LOCKOUT_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)
        return 1


def login_succeeded(username: str, address: str) -> None:
    cache.delete(_key(username, address))


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed sign-ins for this user. Wait %(minutes)s minutes and try again.",
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request) if self.request else ""
        if login_failures(username, address) >= settings.LOGIN_MAX_FAILURES:
            raise ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)},
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            login_failed(username, address)
            raise
        login_succeeded(username, address)
        return cleaned
