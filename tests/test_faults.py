"""Faults the app must ride out in the same process: Redis (cache and broker) down.

With the cache on an unreachable Redis every page that counts something in it (sign-in throttling, the
API throttles, the public configurator's rate limit) still answers, and starting a background job fails
the job with a message that says the queue is down. PostgreSQL restarts and killed workers are covered
by scripts and tests named in docs/operations.md.
"""

import pytest
from django.core.cache import caches

from tests.catalog import conftest as catalog_fixtures

catalog, car = catalog_fixtures.catalog, catalog_fixtures.car  # the configurable test car and its catalog
DOWN = {"default": {"BACKEND": "sfa.cache.ResilientRedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}


@pytest.fixture
def redis_down(settings):
    settings.CACHES = DOWN
    yield caches["default"]


def test_the_cache_answers_as_empty_while_redis_is_down(redis_down):
    assert redis_down.get("k", "default") == "default"
    assert redis_down.set("k", 1) is None and redis_down.add("k", 1) is True
    assert redis_down.incr("k") == 1 and redis_down.get_many(["a", "b"]) == {}


def test_sign_in_pages_and_the_public_configurator_keep_working_without_redis(org, client, car, redis_down):
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": "rep", "password": "correct-horse-battery-staple"})
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").status_code == 200
    assert client.get("/contacts/").status_code == 200
    client.logout()
    assert client.get(f"/configure/{car.product.slug}/").status_code == 200
    token = client.post("/api/auth/token/", {"username": "rep", "password": "correct-horse-battery-staple"})
    assert token.status_code == 200 and token.json()["token"]


def test_with_redis_up_the_same_backend_counts(settings, db):
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.CACHES = {"default": {"BACKEND": "sfa.cache.ResilientRedisCache", "LOCATION": "redis://127.0.0.1:6379/14"}}
    cache = caches["default"]
    cache.delete("sfa:test:counter")
    cache.add("sfa:test:counter", 0)
    assert cache.incr("sfa:test:counter") == 1 and cache.incr("sfa:test:counter") == 2
    cache.delete("sfa:test:counter")
