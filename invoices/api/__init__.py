"""The /v1 invoice and payment routes, in Flexprice's shapes."""
