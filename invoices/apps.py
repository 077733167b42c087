"""App config for invoices."""

from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
