"""Django's Redis cache, remembering its instances so a process can close all of their connections.

Django makes one cache instance per thread (and per settings override), each with its own connection
pool, and closes none of them: at exit the embedded Redis counted a pool made in another thread (a
test's, a threaded server's request) as a client still using it, and kept running after the process
that started it had gone (`dashboard.embedded`)."""

from __future__ import annotations

import weakref

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

_instances: weakref.WeakSet[RedisCache] = weakref.WeakSet()


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        _instances.add(self)


def disconnect_all() -> None:
    """Close every connection of every instance made in this process, whichever thread made it."""
    for cache in list(_instances):
        # The client (and its pools) is made on first use; Django has no public call that closes them.
        client = cache.__dict__.get("_cache")
        for pool in getattr(client, "_pools", {}).values():
            pool.disconnect()
