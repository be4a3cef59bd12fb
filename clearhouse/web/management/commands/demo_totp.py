from django.core.management.base import BaseCommand, CommandError

from clearhouse.web.demo import demo_totp_code


class Command(BaseCommand):
    help = "Print a demo user's current two-factor code (demo authenticators only)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        code = demo_totp_code(username)
        if code is None:
            raise CommandError(f"{username} has no demo authenticator")
        self.stdout.write(code)
