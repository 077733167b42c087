"""manage.py rotate_api_key: issue a replacement with the same scope and revoke the old key, at once."""

from django.core.management.base import BaseCommand, CommandError

from backoffice import activity
from tenancy import services
from tenancy.management.commands.revoke_api_key import find_key


class Command(BaseCommand):
    help = (
        "Replace an API key (by id or visible prefix): a new key with the same environment, name, mode and "
        "expiry is issued and the old one revoked in one transaction. The new key is printed once, alone on the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("key", help="The key's id (key_…) or visible prefix (sk_…).")

    def handle(self, *args, key, **options):
        old = find_key(key)
        if old.revoked_at is not None:
            raise CommandError(f"{old.id} is revoked; create a new key with create_api_key instead")
        with activity.logged(staff=activity.cli_staff(), kind=activity.Kind.API_KEY_ROTATED, target=old) as entry:
            issued = services.api_key_rotate(old)
            entry.result = f"Revoked {old.prefix}…; issued {issued.api_key.id} ({issued.api_key.prefix}…)"
        self.stderr.write(
            f"Revoked {old.id} ({old.prefix}…); issued {issued.api_key.id} ({issued.api_key.prefix}…) for "
            f"{issued.api_key.environment}. It is shown once; store it now."
        )
        self.stdout.write(issued.raw_key)
