"""The study dashboard page: the CONSORT flow, the outcomes with rates as percentages, the charts
and the safety tables of the participants at the user's sites, narrowed by a small GET form (site,
disease, arm or dose level). Every role that reads the study reads it (`Action.VIEW` of
`trials.scoping`); the study is found through `visible_to` (404), and a site outside the user's is
not offered and not accepted."""
from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, prefetch_related_objects
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from enrollment.enums import WithdrawalReason
from trials.limits import LimitedForm
from trials.models import Study, StudyDisease
from trials.scoping import Action, site_ids_for
from trials.templatetags.trials_tags import disease_name

from .dashboard import PARTS, DashboardFilter, dashboard
from . import dashboard_cache, dashboard_charts
from .survival_chart import duration_rows


class DashboardFilterForm(LimitedForm, forms.Form):
    site = forms.TypedChoiceField(label=_("Site"), required=False, coerce=int, empty_value=None)
    disease = forms.ChoiceField(label=_("Disease"), required=False)
    group = forms.ChoiceField(label=_("Arm or dose level"), required=False)

    def __init__(self, data, *, study, sites, diseases, arms):
        super().__init__(data)
        self.fields["site"].choices = [("", _("All my sites"))] + [(s.pk, f"{s.name} ({s.code})") for s in sites]
        self.fields["disease"].choices = [("", _("All diseases"))] + [(d, f"{disease_name(d)} ({d})")
                                                                       for d in diseases]
        groups = [("", _("All arms and levels"))]
        for arm in arms:
            groups.append((f"arm-{arm.pk}", _("Arm %(code)s") % {"code": arm.code}))
            levels = list(arm.dose_levels.all())
            if len(levels) > 1:
                groups += [(f"level-{level.pk}", _("Dose level %(code)s") % {"code": level.code}) for level in levels]
        self.fields["group"].choices = groups

    def narrowed(self, site_ids: list[int]) -> DashboardFilter:
        """The filter of the valid fields; an invalid one (a site not offered) narrows nothing."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        site = data.get("site")
        group = data.get("group") or ""
        kind, _sep, pk = group.partition("-")
        return DashboardFilter(
            site_ids=(site,) if site in site_ids else tuple(site_ids), disease=data.get("disease") or "",
            arm_id=int(pk) if kind == "arm" else None, dose_level_id=int(pk) if kind == "level" else None)


# The swimmer plot's page of lanes (`followup.dashboard`), kept beside the filter in the query string.
LANES_PAGE = "lanes"


def _lanes_pages(request, data) -> dict:
    """The links to the swimmer plot's previous and next page of lanes, with the filter kept."""
    def link(page: int) -> str:
        query = request.GET.copy()
        query[LANES_PAGE] = str(page)
        return "?" + query.urlencode() + "#swimmer"
    page = data.swimmer_page
    return {"previous": link(page - 1) if page > 1 else "",
            "next": link(page + 1) if page < data.swimmer_pages else "",
            "first": (page - 1) * dashboard_charts.SWIMMER_PAGE + 1,
            "last": (page - 1) * dashboard_charts.SWIMMER_PAGE + len(data.swimmer_rows)}


def _part_context(request, study, part: str, data) -> dict:
    if part == "flow":
        criteria_text = dict(study.criteria.values_list("code", "text"))
        labels = dict(WithdrawalReason.choices)
        return {"data": data,
                "failed_rows": [(c, criteria_text.get(c, ""), n) for c, n in data.consort.failed_by_criterion],
                "withdrawn_rows": [(r, labels.get(r, r), n) for r, n in data.consort.withdrawn_by_reason]}
    if part == "outcomes":
        return {"data": data, "lanes_pages": _lanes_pages(request, data), "durations": duration_rows(data.outcomes)}
    return {"data": data}


@login_required
def study_dashboard(request, code):
    study = get_object_or_404(Study.objects.visible_to(request.user), code=code)
    # The data's tokens before anything of the study: what is read after them (its configuration
    # included) is at least as recent (`followup.dashboard_cache`).
    tokens = dashboard_cache.tokens_of(study)
    diseases = Prefetch("diseases", queryset=StudyDisease.objects.select_related("response_criteria"))
    prefetch_related_objects([study], "sites", diseases, "arms__dose_levels")
    mine = set(site_ids_for(request.user, Action.VIEW))
    sites = [site for site in study.sites.all() if site.pk in mine]
    form = DashboardFilterForm(request.GET or None, study=study, sites=sites,
                               diseases=[d.disease for d in study.diseases.all()], arms=list(study.arms.all()))
    narrowed = form.narrowed([site.pk for site in sites])
    page = request.GET.get(LANES_PAGE, "")
    entries = {part: dashboard_cache.key(study, part=part, tokens=tokens, visible_site_ids=mine, narrowed=narrowed,
                                         query=request.GET.urlencode()) for part in PARTS}
    context = {"study": study, "form": form, "filtered": any(request.GET.get(name) for name in form.fields)}
    found = dashboard_cache.read(list(entries.values()))
    html = {part: found[entry] for part, entry in entries.items() if entry in found}
    missing = tuple(part for part in PARTS if part not in html)
    if missing:  # built again: the parts whose data moved (all on a first read)
        data = dashboard(request.user, study, narrowed, parts=missing, tokens=tokens,
                         swimmer_page=int(page) if page.isdigit() and len(page) < 6 else 1)
        context["data"] = data
        for part in missing:
            html[part] = render_to_string(f"followup/_dashboard_part_{part}.html", _part_context(request, study,
                                                                                                 part, data))
        dashboard_cache.keep({entries[part]: html[part] for part in missing})
    body = "".join(html[part] for part in PARTS)
    context["body"] = mark_safe(body)  # noqa: S308 (the HTML rendered by the template above, escaped there)
    return render(request, "followup/study_dashboard.html", context)
