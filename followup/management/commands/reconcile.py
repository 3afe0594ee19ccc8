from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from followup.outcomes import outcomes_reconcile


class Command(BaseCommand):
    help = _("Recompute the derived data that is behind the data it derives from: each study's outcomes "
             "snapshot that misses a change (its recomputation was never queued or never ran, e.g. while "
             "the broker was down). Safe to run at any time; the worker runs it every 10 minutes.")

    def handle(self, *args, **options):
        recomputed = outcomes_reconcile()
        if recomputed:
            self.stdout.write(self.style.WARNING(
                _("Outcomes recomputed (they were stale): %(studies)s.") % {"studies": ", ".join(recomputed)}))
        else:
            self.stdout.write(self.style.SUCCESS(_("Every outcomes snapshot is up to date.")))
