"""Shared building blocks: prefixed ids, domain errors, and the API wire format (core.api)."""
