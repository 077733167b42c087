"""manage.py list_api_keys: the API keys (never their secrets), optionally of one tenant or environment."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from tenancy.models import ApiKey


def key_state(api_key: ApiKey, now) -> str:
    if api_key.revoked_at is not None:
        return f"revoked {api_key.revoked_at:%Y-%m-%d %H:%M}"
    if api_key.expires_at is not None and api_key.expires_at <= now:
        return f"expired {api_key.expires_at:%Y-%m-%d %H:%M}"
    return "active"


class Command(BaseCommand):
    help = "List API keys: id, visible prefix, tenant/environment, mode, state, last use. Secrets are never stored."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Only this tenant's keys (by name).")
        parser.add_argument("--environment", help="Only this environment's keys (by name; with --tenant).")
        parser.add_argument("--active", action="store_true", help="Only keys that still work.")

    def handle(self, *args, tenant, environment, active, **options):
        now = timezone.now()
        keys = ApiKey.objects.select_related("environment__tenant").order_by("environment__tenant__name", "created_at")
        if tenant:
            keys = keys.filter(environment__tenant__name=tenant)
        if environment:
            keys = keys.filter(environment__name=environment)
        for api_key in keys:
            state = key_state(api_key, now)
            if active and state != "active":
                continue
            mode = "read-only" if api_key.read_only else "read-write"
            used = f"{api_key.last_used_at:%Y-%m-%d %H:%M}" if api_key.last_used_at else "never"
            self.stdout.write(
                f"{api_key.id}  {api_key.prefix}…  {api_key.environment}  {mode}  {state}  last used {used}"
                + (f"  {api_key.name}" if api_key.name else "")
            )
