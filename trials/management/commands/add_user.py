from django.core.management.base import BaseCommand, CommandError

from trials.accounts import UserError, user_upsert
from trials.enums import Role


class Command(BaseCommand):
    help = "Create or update a user with a role at a site (API.md 'Users')."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--site", required=True, help="Site code, e.g. PUMCH.")
        parser.add_argument("--password", help="Set this password (otherwise a new user gets a random one, printed).")
        parser.add_argument("--token", action="store_true", help="Print the user's API token alone on the last line.")

    def handle(self, *args, username, role, site, password, token, **options):
        try:
            result = user_upsert(username=username, role=role, site_code=site, password=password, with_token=token)
        except UserError as exc:
            raise CommandError(str(exc)) from None
        verb = "Created" if result.created else "Updated"
        self.stdout.write(f"{verb} {username}: {role} at {site}.")
        if result.generated_password:
            self.stdout.write(f"Password: {result.generated_password}")
        if token:
            self.stdout.write(result.token)
