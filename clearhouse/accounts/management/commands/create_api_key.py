"""`clearhouse create_api_key --name ERP --role finance_clerk [--merchant CODE]`: print a new key once."""

from django.core.management.base import BaseCommand, CommandError

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import api_key_create, merchant_get
from clearhouse.core.errors import DomainError


class Command(BaseCommand):
    help = "Issue an API key for a role (optionally scoped to one merchant); the token is printed once."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--merchant", help="merchant code, for merchant_staff / merchant_admin keys")

    def handle(self, *args, name, role, merchant, **options):
        try:
            scope = merchant_get(code=merchant) if merchant else None
            key, token = api_key_create(name=name, role=role, merchant=scope, actor="cli")
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(token)
        self.stderr.write(f"API key {key.prefix} ({role}) created; the token above is shown only this once.")
