"""API keys remembered by each process, trusted only while the key generation in Redis stands.

Finding the key behind a request used to be a database query on every request: a round trip
as dear as the request's own work on the hot reads. Now each process remembers the key rows it
has read, tagged with the *key generation*, a token kept in Redis. Every change to a key or an
environment (revocation, rotation, an edit in the admin, a deletion) replaces the token, so
every process's remembered rows stop matching at once. The request reads the token in the same
Redis round trip that counts it against its rate limit (tenancy.authentication), so a
revocation still takes effect on the very next request, in every process, at no extra cost.

Safety margins, because Redis keeps nothing on disk: a Redis that restarts empty gets a new
token (never an old one again), so nothing remembered survives it; a row is trusted for at
most ``MAX_AGE_SECONDS`` whatever the token says, which bounds the damage of a change made
behind Django's back (plain SQL) or of a token change that failed; and without Redis (the
zero-configuration install) nothing is remembered.
"""

import logging
import secrets
import time

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.redis_client import cache_redis
from tenancy.models import ApiKey, Environment

logger = logging.getLogger(__name__)

MAX_AGE_SECONDS = 60
# Only keys that exist are remembered, so this bounds memory against a flood of distinct keys
# only after they have been issued; past it the whole map starts again.
MAX_ENTRIES = 10_000

_remembered: dict[str, tuple[tuple, str, float]] = {}  # digest -> (row, generation, when read)
_stamped: dict[str, float] = {}  # digest -> when this process last stamped the key's last use


def generation_key() -> str:
    return cache.make_and_validate_key("api_key_generation")


def recall(digest: str, generation: str | None) -> tuple | None:
    """The row read for this key under this generation, if it is still fresh."""
    if generation is None:
        return None
    entry = _remembered.get(digest)
    if entry is None:
        return None
    row, seen_generation, read_at = entry
    if seen_generation != generation or time.monotonic() - read_at > MAX_AGE_SECONDS:
        return None
    return row


def remember(digest: str, row: tuple, generation: str | None) -> None:
    if generation is None:
        return
    if len(_remembered) >= MAX_ENTRIES:
        _remembered.clear()
    _remembered[digest] = (row, generation, time.monotonic())


def claim_stamp(digest: str, every_seconds: float) -> bool:
    """True (and noted) if this process has not stamped the key's last use within ``every_seconds``."""
    now = time.monotonic()
    if now - _stamped.get(digest, -every_seconds) < every_seconds:
        return False
    if len(_stamped) >= MAX_ENTRIES:
        _stamped.clear()
    _stamped[digest] = now
    return True


def start_new_generation() -> None:
    """Make every process read its keys from the database again."""
    client = cache_redis()
    if client is None:
        return
    try:
        client.set(generation_key(), secrets.token_hex(8))
    except Exception:
        # The change itself is committed; remembered rows still expire within MAX_AGE_SECONDS.
        logger.exception("Could not start a new API key generation; keys may be trusted for %s s", MAX_AGE_SECONDS)


@receiver([post_save, post_delete], sender=ApiKey)
@receiver([post_save, post_delete], sender=Environment)
def _keys_changed(sender, created=False, **kwargs) -> None:
    if created:  # nobody can remember a row that did not exist
        return
    # Now, so that no process trusts the old row while the change commits, and again once it has
    # committed, so that a process that read the old row meanwhile does not keep it.
    start_new_generation()
    transaction.on_commit(start_new_generation)
