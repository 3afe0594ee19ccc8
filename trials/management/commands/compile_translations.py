from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from trials.translations import catalogues, read_po, write_mo


class Command(BaseCommand):
    help = ("Compile the interface's translation catalogues (locale/<language>/LC_MESSAGES/django.po and "
            "djangojs.po) into the .mo files the server reads; needs no system package.")

    def handle(self, *args, **options):
        found = [po for base in settings.LOCALE_PATHS for po in catalogues(Path(base))]
        if not found:
            raise CommandError(f"No catalogue under {', '.join(str(base) for base in settings.LOCALE_PATHS)}.")
        for po in found:
            try:
                entries = read_po(po)
            except ValueError as error:
                raise CommandError(str(error)) from error
            count = write_mo(entries, po.with_suffix(".mo"))
            self.stdout.write(f"{po.parent.parent.name} {po.stem}: {count} messages compiled")
