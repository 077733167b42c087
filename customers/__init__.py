"""Customers of a tenant's environment: the owners of wallets."""
