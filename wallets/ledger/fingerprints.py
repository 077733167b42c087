"""Request fingerprints: what makes two writes "the same request" for idempotency.

A ledger row stores the fingerprint of the operation that wrote it; a retry with the same
idempotency key must carry the same fingerprint to be replayed (wallets.ledger.idempotency).
"""

import hashlib
import json
from decimal import Decimal

from wallets.ledger import money


def fingerprint(operation: str, **params) -> str:
    """SHA-256 over the operation and its normalised parameters ("1.50" and "1.5" are equal)."""

    def normalise(value):
        if isinstance(value, Decimal):
            return money.format_decimal(value)
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value

    canonical = json.dumps(
        {"operation": operation, **{k: normalise(v) for k, v in params.items()}},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
