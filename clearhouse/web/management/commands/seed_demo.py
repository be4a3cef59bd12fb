from django.core.management.base import BaseCommand

from clearhouse.web.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo merchants, users and postings (does nothing if they exist)."

    def handle(self, *args, **options):
        created = seed_demo()
        self.stdout.write("demo data created" if created else "demo data already present")
