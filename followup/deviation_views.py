"""A study's protocol deviations at the user's sites, 50 a page, filtered by kind and site
(`/studies/<code>/deviations/`): the study page shows the first of them and their counts per kind.
A study of another site is 404, a user whose roles read no participants 403."""
from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _

from trials.limits import LimitedForm
from trials.models import Study

from .deviations import KINDS, deviations_page
from .participant_list import require_reader, user_sites

PER_PAGE = 50


class DeviationFilters(LimitedForm, forms.Form):
    # The kinds' names are the template's, as the deviations' table gives them (`dosing/_deviations.html`).
    kind = forms.ChoiceField(label=_("Deviation"), required=False,
                             choices=[("", ""), *((kind, kind) for kind in KINDS)])
    site = forms.TypedChoiceField(label=_("Site"), required=False, coerce=int, empty_value=None)
    page = forms.IntegerField(label=_("Page"), required=False, min_value=1)

    def __init__(self, data, *, sites):
        super().__init__(data)
        self.fields["site"].choices = [("", _("Every site")), *((site.pk, site.code) for site in sites)]


@login_required
def study_deviations(request, code):
    require_reader(request.user)
    study = get_object_or_404(Study.objects.visible_to(request.user), code=code)
    sites = [site for site in user_sites(request.user, study) if site.in_study]
    filters = DeviationFilters(request.GET, sites=sites)
    filters.is_valid()  # a filter not understood is left out, and the form says why
    chosen = filters.cleaned_data
    page = deviations_page(request.user, study=study, number=chosen.get("page") or 1, per_page=PER_PAGE,
                           kind=chosen.get("kind") or "", site_id=chosen.get("site"))
    # The page as Django's paginator gives one, for the shared links (`includes/pagination.html`).
    page_obj = Page(page.rows, page.number, Paginator(range(page.total), PER_PAGE))
    return render(request, "followup/study_deviations.html", {
        "study": study, "filters": filters, "page": page, "page_obj": page_obj})
