"""manage.py create_api_key: issue an API key, creating the tenant and environment if needed."""

from django.core.management.base import BaseCommand

from backoffice import activity
from tenancy import services


class Command(BaseCommand):
    help = "Create an API key for TENANT/ENVIRONMENT (both created if missing). The key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--environment", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--read-only", action="store_true", help="The key may only read.")

    def handle(self, *args, tenant, environment, name, read_only, **options):
        env = services.environment_get_or_create(tenant_name=tenant, environment_name=environment)
        mode = "read-only" if read_only else "read-write"
        with activity.logged(staff=activity.cli_staff(), kind=activity.Kind.API_KEY_CREATED, target=None, note=name) as entry:
            issued = services.api_key_create(environment=env, name=name, read_only=read_only)
            entry.target = issued.api_key
            entry.result = f"Created {mode} key {issued.api_key.prefix}… for {env}"
        self.stderr.write(f"Created {mode} key {issued.api_key.prefix}… for {env}. It is shown once; store it now.")
        self.stdout.write(issued.raw_key)
