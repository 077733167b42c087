"""Prefixed ULID identifiers (``wallet_01J...``): unique, k-sortable by creation time, URL-safe."""

import os
import time
from functools import partial

from django.db import models

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid() -> str:
    """A 26-character ULID: 48 bits of milliseconds, then 80 random bits, Crockford base32."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    return f"{prefix}_{ulid()}"


def prefixed_id_field(prefix: str) -> models.CharField:
    """The primary key of every public model: generated here, never accepted from a client."""
    return models.CharField(primary_key=True, max_length=50, editable=False, default=partial(new_id, prefix))
