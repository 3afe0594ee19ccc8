from django.core.management.base import BaseCommand, CommandError

from trials.services import StudyDefinitionError, studies_load


class Command(BaseCommand):
    help = "Create or update the built-in studies from trials/studies/*.yaml (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("codes", nargs="*", help="Study codes to load (default: every file).")
        parser.add_argument("--update", action="store_true",
                            help="Set rows that differ from their file to the file's values "
                                 "(default: keep and report).")

    def handle(self, *args, codes, update, **options):
        try:
            report = studies_load(only=codes or None, update=update)
        except StudyDefinitionError as exc:
            raise CommandError(str(exc)) from None
        for label in report.created:
            self.stdout.write(f"created  {label}")
        for label in report.updated:
            self.stdout.write(f"updated  {label}")
        for label in report.differs:
            self.stdout.write(self.style.WARNING(f"kept     {label} (changed since; --update sets the file's values)"))
        for label in report.not_in_file:
            self.stdout.write(self.style.WARNING(f"kept     {label} (in the database, not in the file)"))
        self.stdout.write(self.style.SUCCESS("Studies are up to date." if not report.changed else
                                             f"{len(report.created)} created, {len(report.updated)} updated."))
