"""App config for customers."""

from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
