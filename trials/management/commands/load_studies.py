from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

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
            raise CommandError(_("Name either built-in study codes or definition files, not both."))
        try:
            if paths:
                report = definition_files_load(paths, update=update)
            else:
                report = studies_load(only=codes or None, update=update)
        except StudyDefinitionError as exc:
            raise CommandError(str(exc)) from None
        for label in report.created:
            self.stdout.write(_("created: %(row)s") % {"row": label})
        for label in report.updated:
            self.stdout.write(_("updated: %(row)s") % {"row": label})
        for label in report.differs:
            self.stdout.write(self.style.WARNING(
                _("kept: %(row)s (changed since; --update sets the file's values)") % {"row": label}))
        for label in report.not_in_file:
            self.stdout.write(self.style.WARNING(
                _("kept: %(row)s (in the database, not in the file)") % {"row": label}))
        self.stdout.write(self.style.SUCCESS(
            _("Studies are up to date.") if not report.changed else
            _("%(created)d created, %(updated)d updated.") % {"created": len(report.created),
                                                              "updated": len(report.updated)}))
