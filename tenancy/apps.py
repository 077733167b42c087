"""App config for tenancy."""

from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenancy"
