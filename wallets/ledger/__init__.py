"""The ledger core: the one write path for balances and what it stands on.

What belongs here: the wallet models' bookkeeping rules that must never differ between callers,
and nothing that decides *whether* a write should happen (that is wallets.services).

- postings.py: lock a wallet, post credits and debits, consume lots in the contract's order;
- hooks.py: the one way side effects (alerts, webhook events, auto top-ups) leave this package;
- idempotency.py: one effect per idempotency key, replaying the first answer;
- money.py: every credit and currency calculation, parsing and formatting (the only place);
- fingerprints.py: what makes two requests "the same" for an idempotency key;
- integrity.py: read-only audits of the invariants the write path promises.

This package imports no Celery, no HTTP framework, no admin, no invoices, no webhooks and no
services (the contract "ledger-core" in pyproject.toml); wallets.models, which Django wants at
the app's top level, belongs to this layer too.
"""
