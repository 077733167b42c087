"""manage.py revoke_api_key: refuse a key from its next request on (tenancy.services.api_key_revoke)."""

from django.core.management.base import BaseCommand, CommandError

from backoffice import activity
from tenancy import services
from tenancy.models import ApiKey


def find_key(reference: str) -> ApiKey:
    """A key by its id (key_…) or its visible prefix (sk_…, as list_api_keys shows it)."""
    matches = list(ApiKey.objects.select_related("environment__tenant").filter(pk=reference)) or list(
        ApiKey.objects.select_related("environment__tenant").filter(prefix=reference.rstrip("…"))
    )
    if not matches:
        raise CommandError(f"No API key {reference!r}")
    if len(matches) > 1:
        raise CommandError(f"{len(matches)} keys share the prefix {reference!r}; give the key id instead")
    return matches[0]


class Command(BaseCommand):
    help = "Revoke an API key by id or visible prefix. It is refused from its next request on."

    def add_arguments(self, parser):
        parser.add_argument("key", help="The key's id (key_…) or visible prefix (sk_…).")

    def handle(self, *args, key, **options):
        api_key = find_key(key)
        if api_key.revoked_at is not None:
            self.stdout.write(f"{api_key.id} ({api_key.prefix}…) was already revoked at {api_key.revoked_at:%Y-%m-%d %H:%M}.")
            return
        with activity.logged(staff=activity.cli_staff(), kind=activity.Kind.API_KEY_REVOKED, target=api_key) as entry:
            services.api_key_revoke(api_key)
            entry.result = f"Revoked {api_key.prefix}… of {api_key.environment}"
        self.stdout.write(self.style.SUCCESS(f"Revoked {api_key.id} ({api_key.prefix}…) of {api_key.environment}."))
