"""Build a synthetic study for measuring the product at scale (`followup.synthetic`)."""
import time
from datetime import date

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from followup.synthetic import build_synthetic_study
from trials.accounts import user_upsert
from trials.models import Study
from trials.services import studies_load


class Command(BaseCommand):
    help = ("Build a synthetic copy of the P3 study with N participants at several sites (screenings, consents, "
            "infusions, visits, assessments, adverse events, with their history), deterministic for a seed.")

    def add_arguments(self, parser):
        parser.add_argument("--participants", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--code", default=None, help="The study's code (default SYN-<participants>-<seed>).")
        parser.add_argument("--today", type=date.fromisoformat, default=None,
                            help="The date the data run up to (YYYY-MM-DD; default today).")

    def handle(self, *args, participants, seed, code, today, **options):
        if participants < 1:
            raise CommandError("--participants must be at least 1.")
        if not Study.objects.filter(code="MSC-ITP-5").exists():
            studies_load()  # the template study, its sites, criteria sets and catalogues
        user = (get_user_model().objects.filter(username="synthetic").first()
                or user_upsert(username="synthetic", role="coordinator", site_code="PUMCH").user)
        start = time.perf_counter()
        try:
            study = build_synthetic_study(participants=participants, seed=seed, by=user, code=code,
                                          today=today or timezone.localdate())
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Built {study.code}: {participants} participants in {time.perf_counter() - start:.1f} s.")
