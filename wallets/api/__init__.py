"""The Flexprice-compatible /v1 wallet routes: serializers, views and URLs."""
