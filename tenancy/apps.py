"""App config for tenancy."""

from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenancy"

    def ready(self):
        # Connects the signals that start a new API key generation when a key or environment changes.
        from tenancy import key_cache  # noqa: F401
