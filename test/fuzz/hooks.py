"""Schemathesis hooks of the admin API's fuzz test: a rejected request leaves the ledger alone.

Loaded by `st run` through SCHEMATHESIS_HOOKS (test/integration/admin-api-fuzz.test.ts sets it).

Design. The service under test runs only its `api` role, under a Redis key prefix of its own,
and schemathesis sends one request at a time (workers = 1): nothing but the request in flight
can change a key under that prefix. So the ledger's state is compared around each request:
`before_call` takes a digest of every key under the prefix, `after_call` takes another and
records which keys differ, against that very response object; the check
`rejected_request_left_ledger_alone` then fails any 4xx response whose request changed a key.
The comparison is made in the call hooks, not in the check, because checks may send requests
of their own (probes) before a custom check runs; those are measured separately.

A key's digest covers its type, its content in a canonical order (a hash's fields and a set's
members sorted: DUMP is not canonical, a hash table's order moves with incremental rehashing
even on a read) and its absolute expiry (PEXPIRETIME, which unlike a TTL does not move with the
clock). So any new, deleted or rewritten value, or a changed expiry, counts as a change; writing
a value that is already there does not.

Environment: FUZZ_REDIS_URL (the service's Redis) and FUZZ_REDIS_KEY_PREFIX (its
REDIS_KEY_PREFIX; the prefix must not contain glob characters).
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict

import redis
import schemathesis

_REDIS_URL = os.environ.get("FUZZ_REDIS_URL")
_PREFIX = os.environ.get("FUZZ_REDIS_KEY_PREFIX")
if not _REDIS_URL or not _PREFIX:
    raise RuntimeError("set FUZZ_REDIS_URL and FUZZ_REDIS_KEY_PREFIX (the service's REDIS_KEY_PREFIX)")
if any(char in _PREFIX for char in "*?[]\\"):
    raise RuntimeError(f"FUZZ_REDIS_KEY_PREFIX {_PREFIX!r} must not contain glob characters")

_redis = redis.Redis.from_url(_REDIS_URL)

# Keys whose state a response's request changed, by response; kept until its check reads them
# (bounded, for responses no check ever looks at).
_changes: OrderedDict[int, tuple[object, list[str]]] = OrderedDict()
_MAX_PENDING = 10_000
_before: dict[str, str] = {}


def ledger_state() -> dict[str, str]:
    """Every key under the prefix, with a digest of its content and expiry."""
    keys = sorted(_redis.scan_iter(match=_PREFIX.encode() + b"*", count=1000))
    if not keys:
        return {}
    pipeline = _redis.pipeline(transaction=False)
    for key in keys:
        pipeline.type(key)
        pipeline.pexpiretime(key)
    described = pipeline.execute()
    types = [kind.decode() for kind in described[0::2]]
    for key, kind in zip(keys, types):
        _read(pipeline, key, kind)
    contents = pipeline.execute()
    state = {}
    for key, kind, expires_at, content in zip(keys, types, described[1::2], contents):
        if kind == "none":  # deleted between SCAN and TYPE: cannot happen with one request at a time
            continue
        canonical = repr((kind, expires_at, _canonical(kind, content))).encode()
        state[key.decode(errors="replace")] = hashlib.sha256(canonical).hexdigest()
    return state


def _read(pipeline, key: bytes, kind: str) -> None:
    if kind == "string":
        pipeline.get(key)
    elif kind == "hash":
        pipeline.hgetall(key)
    elif kind == "set":
        pipeline.smembers(key)
    elif kind == "zset":
        pipeline.zrange(key, 0, -1, withscores=True)
    elif kind == "list":
        pipeline.lrange(key, 0, -1)
    elif kind == "stream":
        pipeline.xrange(key)
    else:
        pipeline.dump(key)


def _canonical(kind: str, content: object) -> object:
    """The content in an order of its own: a hash's fields and a set's members sorted."""
    if kind == "hash":
        return sorted(content.items())
    if kind == "set":
        return sorted(content)
    return content


def changed_keys(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(
        [f"+{key}" for key in after.keys() - before.keys()]
        + [f"-{key}" for key in before.keys() - after.keys()]
        + [f"~{key}" for key in before.keys() & after.keys() if before[key] != after[key]]
    )


@schemathesis.hook
def before_call(context, case, kwargs):
    global _before
    _before = ledger_state()


@schemathesis.hook
def after_call(context, case, response):
    _changes[id(response)] = (response, changed_keys(_before, ledger_state()))
    while len(_changes) > _MAX_PENDING:
        _changes.popitem(last=False)


@schemathesis.check
def rejected_request_left_ledger_alone(ctx, response, case):
    """A request answered 4xx must not have changed any ledger key."""
    entry = _changes.pop(id(response), None)
    if entry is None or entry[0] is not response or not 400 <= response.status_code < 500:
        return None
    changed = entry[1]
    if changed:
        shown = ", ".join(changed[:10]) + (f" and {len(changed) - 10} more" if len(changed) > 10 else "")
        raise AssertionError(
            f"{response.status_code} response, but the request changed the ledger "
            f"(+ added, - removed, ~ changed): {shown}"
        )
    return True
