from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trials.services import StudyDefinitionError, definition_files_load, studies_load


class Command(BaseCommand):
    help = ("Create or update the built-in studies from trials/studies/*.yaml, or the study definition files "
            "named (YAML or JSON, as the API's /studies/{code}/definition/ gives them); safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("codes", nargs="*", help="Study codes of the built-in files to load, or paths of "
                                                     "definition files (default: every built-in file).")
        parser.add_argument("--update", action="store_true",
                            help="Set rows that differ from their file to the file's values "
                                 "(default: keep and report).")

    def handle(self, *args, codes, update, **options):
        paths = [Path(code) for code in codes if Path(code).is_file()]
        codes = [code for code in codes if not Path(code).is_file()]
        if paths and codes:
            raise CommandError("Name either built-in study codes or definition files, not both.")
        try:
            if paths:
                report = definition_files_load(paths, update=update)
            else:
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
