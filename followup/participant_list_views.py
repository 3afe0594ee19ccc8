"""The participants pages: the list across the user's studies (`/participants/`), a study's list
(`/studies/<code>/participants/`) and its participant x visit grid (`/studies/<code>/grid/`). Each
reads `followup.participant_list` (the API's `GET /api/v1/participants/` reads it too); a study of
another site is 404, a user whose roles read no participants 403."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from trials.models import Study

from .participant_grid import grid_columns, grid_definitions, grid_rows, grid_shown, legend, rows_html
from .participant_list import (ParticipantFilters, filter_choices, page_of, participants_listed, participants_shown,
                               require_reader, user_sites, with_links)


def _study(user, code):
    return get_object_or_404(Study.objects.visible_to(user), code=code) if code else None


def _listing(request, code):
    require_reader(request.user)
    study = _study(request.user, code)
    filters = ParticipantFilters.from_params(request.GET, study=code or "")
    now = timezone.now()
    sites = user_sites(request.user, study)
    return study, filters, now, sites, participants_listed(request.user, filters, now=now, sites=sites)


def _context(request, study, filters, page, sites, **more) -> dict:
    return {"study": study, "filters": filters, "page_obj": page,
            "choices": filter_choices(request.user, study, sites),
            "studies": [] if study else Study.objects.visible_to(request.user).order_by("code"),
            "filter_query": filters.query(without_study=study is not None),
            "grid_query": filters.query(without_study=True), **more}


@login_required
def participant_list(request, code=None):
    """The participants of a study (or of every study of the user's sites), 50 a page."""
    study, filters, now, sites, rows = _listing(request, code)
    page = page_of(rows, request.GET.get("page"), shown=participants_shown(request.user, now=now, locks=False))
    page.object_list = with_links(page.object_list)
    return render(request, "followup/participant_list.html", _context(request, study, filters, page, sites))


@login_required
def participant_grid(request, code):
    """A study's participants x their infusions and visits, 50 participants a page."""
    study, filters, now, sites, rows = _listing(request, code)
    page = page_of(rows, request.GET.get("page"), shown=grid_shown(request.user))
    definitions = grid_definitions(study)
    columns = grid_columns(study, definitions)
    grid = grid_rows(request.user, page.object_list, columns, study=study, now=now, definitions=definitions)
    return render(request, "followup/participant_grid.html", _context(
        request, study, filters, page, sites, columns=columns, legend=legend(), rows=grid, rows_html=rows_html(grid)))
