"""Prepaid credit wallets: the ledger, its one write path, and the API and admin over it."""
