"""The Flexprice-compatible /v1 customer routes."""
