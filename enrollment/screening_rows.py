"""Helpers of the screening writes: the range each lab is judged against, and the rows a service
just wrote kept on the record, so that answering with them costs no query."""
from __future__ import annotations

from datetime import date

from django.db import connection

from trials.units import mixed_range_conflict, mixed_range_message

from . import eligibility as rules
from .selectors import range_source_name, site_reference_range


def site_ranges_context(screening) -> tuple[list, int | None]:
    """The site's reference ranges (one query) and the patient's age, to resolve each lab's range."""
    age = rules.age_in_years(screening.birth_date, screening.screening_date) if (
        screening.birth_date and screening.screening_date) else None
    return list(screening.site.reference_ranges.all()), age


def lab_range(lab, screening, ranges: list, age: int | None):
    """(lln, uln, range source, conflict) of a lab: a limit the report gave is used; a limit it did
    not give comes from the site's range for the patient's sex and age. `conflict` is
    (`lln`|`uln`, message) when a report's single limit crosses the site's other limit, else None."""
    found = site_reference_range(ranges, lab.analyte, screening.sex or None, age)
    site_lln, site_uln = (found.lln, found.uln) if found else (None, None)
    conflict = mixed_range_conflict(lab.report_lln, lab.report_uln, site_lln, site_uln)
    if conflict:
        return None, None, "", (conflict, mixed_range_message(lab.analyte, conflict, lab.report_lln, lab.report_uln,
                                                              site_lln, site_uln))
    lln = lab.report_lln if lab.report_lln is not None else site_lln
    uln = lab.report_uln if lab.report_uln is not None else site_uln
    from_report = lab.report_lln is not None or lab.report_uln is not None
    from_site = (lab.report_lln is None and site_lln is not None) or (lab.report_uln is None and site_uln is not None)
    source = "+".join(name for name, used in (("report", from_report), (range_source_name(found), from_site)) if used)
    return lln, uln, source, None


def in_model_order(therapies: list) -> list:
    """Courses as the database returns them (`PriorTherapy.Meta.ordering`: start, then entry order;
    an unknown start sorts where the database puts NULLs)."""
    nulls_last = connection.features.nulls_order_largest
    return [course for _index, course in sorted(
        enumerate(therapies),
        key=lambda item: ((item[1].start is None) == nulls_last, item[1].start or date.min, item[0]))]
