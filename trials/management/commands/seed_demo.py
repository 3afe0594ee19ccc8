from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from trials.accounts import DEMO_ACCOUNTS, demo_accounts_create


class Command(BaseCommand):
    help = "Create one demo account per role at site PUMCH and print the passwords (first runs only)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow with DEBUG off (never in production).")

    def handle(self, *args, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Demo accounts have published passwords: refused with DEBUG off (use --force to insist)."
            )
        demo_accounts_create()
        self.stdout.write("Demo accounts (site PUMCH):")
        for username, role, password in DEMO_ACCOUNTS:
            self.stdout.write(f"  {role:<13} {username:<14} password: {password}")
