"""The data query pages: a query with its thread and the forms its reader may use (answer,
close, re-open), and the form opening a query on an item of a participant's record. Both find
the participant or the query through `visible_to` (404 for another site); the services check the
role (403) and the state (409, shown as a message). A locked casebook (or study) takes no query,
answer, closing or re-opening: the page shows the lock and no form, and a post is 403 naming the
lock (`trials.middleware.RecordLockedMiddleware`)."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment.forms import style
from enrollment.locks import lock_of, refuse_if_locked
from enrollment.selectors import participants_visible
from trials.errors import ConflictError, RecordLocked, ServiceError
from trials.forms_errors import add_service_errors
from trials.limits import LimitedForm
from trials.scoping import Action, can, require

from . import data_queries as dq
from .models import AdverseEvent, LabResult
from .query_models import DataQuery, QueryState
from .record_refs import KINDS, ItemDef, RecordRef, item_is_known, record_items
from .services import assessment_can_correct

class QueryOpenForm(LimitedForm, forms.Form):
    length_model = DataQuery

    item = forms.ChoiceField(label=gettext_lazy("Item"))
    question = forms.CharField(label=gettext_lazy("Question"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [(item.code, item.label) for item in items]


class AnswerForm(LimitedForm, forms.Form):
    length_model = DataQuery

    answer = forms.CharField(label=gettext_lazy("Answer"), widget=forms.Textarea(attrs={"rows": 3}))


class CloseForm(LimitedForm, forms.Form):
    length_model, length_fields = DataQuery, {"note": "close_note"}

    note = forms.CharField(label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           )


class ReopenForm(LimitedForm, forms.Form):
    length_model = DataQuery

    reason = forms.CharField(label=gettext_lazy("Why re-open it"), widget=forms.Textarea(attrs={"rows": 2}))


FORMS = {"answer": AnswerForm, "close": CloseForm, "reopen": ReopenForm}


def _record_items(ref: RecordRef, wanted: str):
    """The items a query may be opened on for the record: its fields, its labs (assessment), and
    the item asked for when it is a known one not listed."""
    analytes = (LabResult.objects.filter(assessment_id=ref.pk).values_list("analyte", flat=True)
                if ref.kind == "assessment" else ())
    items = record_items(ref.kind, analytes=analytes)
    if wanted and item_is_known(ref.kind, wanted) and wanted not in {item.code for item in items}:
        items.append(ItemDef(wanted, wanted.split(":", 1)[-1]))
    return items


@login_required
def query_new(request, pk):
    """Open a query on an item of one of the participant's records (`?kind=&record=&item=`)."""
    participant = get_object_or_404(participants_visible(request.user), pk=pk)
    require(request.user, Action.QUERY, [participant.site_id])
    refuse_if_locked(participant)  # a locked casebook: 403 naming the lock
    source = request.POST if request.method == "POST" else request.GET
    kind = (source.get("kind") or "").replace("-", "_")
    try:
        ref = RecordRef(kind, int(source.get("record") or ""))
    except ValueError:
        raise Http404(_("There is no such record of this participant.")) from None
    if dq.record_participant_id(ref) != participant.pk:
        raise Http404(_("There is no such record of this participant."))
    wanted = source.get("item") or ""
    form = QueryOpenForm(request.POST if request.method == "POST" else None, initial={"item": wanted},
                         items=_record_items(ref, wanted))
    if form.is_valid():
        try:
            query = dq.query_open(ref, form.cleaned_data["item"], form.cleaned_data["question"], request.user,
                                  participant=participant)
        except ServiceError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Query opened."))
            return redirect("query-detail", pk=query.pk)
    style(form)
    return render(request, "followup/query_form.html", {
        "participant": participant, "form": form, "kind": ref.kind, "record": ref.pk,
        "record_label": KINDS[ref.kind].label})


# The records recorded once, with no correction page: their queries are answered in words.
NO_CORRECTION = {
    "screening": gettext_lazy("Screening facts are fixed at enrolment and have no correction: answer the query "
                              "with what the source shows."),
    "consent": gettext_lazy("A consent is recorded once and has no correction: answer the query with what the "
                            "source shows."),
    "infusion": gettext_lazy("An infusion is recorded once and has no correction: answer the query with what the "
                             "source shows."),
    "visit": gettext_lazy("A visit is recorded once and has no correction (an assessment's correction re-dates its "
                          "visit): answer the query with what the source shows."),
}


def _correction(user, query: DataQuery) -> tuple[str | None, str | None]:
    """(the edit page of the queried record carrying the query, for a user who may correct it
    there; else None, why the record has no correction when it has none). A locked casebook's edit
    pages refuse (403 naming the lock): no link; a draft or dismissed adverse event is confirmed or
    dismissed by the investigator, not corrected: no link."""
    kind, participant = query.record_kind, query.participant
    if kind in NO_CORRECTION:
        return None, NO_CORRECTION[kind]
    if lock_of(participant) is not None:
        return None, None
    if kind == "assessment" and assessment_can_correct(user, participant):
        return reverse("assessment-edit", args=[query.record_pk]) + f"?query={query.pk}", None
    if (kind == "adverse_event" and can(user, Action.CAPTURE, [participant.site_id])
            and AdverseEvent.objects.filter(pk=query.record_pk, status="confirmed").exists()):
        return reverse("adverse-event-edit", args=[query.record_pk]) + f"?query={query.pk}", None
    return None, None


def _transition(query: DataQuery, action: str, user, data: dict) -> None:
    if action == "answer":
        dq.query_answer(query, data["answer"], user)
    elif action == "close":
        dq.query_close(query, user, data["note"])
    else:
        dq.query_reopen(query, user, data["reason"])


def _query(request, pk) -> DataQuery:
    return get_object_or_404(DataQuery.objects.visible_to(request.user).select_related(
        "participant__locked_by", "participant__study__locked_by", "opened_by", "answered_by", "closed_by",
    ).prefetch_related("messages__by"), pk=pk)


@login_required
def query_detail(request, pk):
    """A query, its thread, and the answer / close / re-open form its reader's role allows."""
    query = _query(request, pk)
    bound = {}
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in FORMS:
            return redirect("query-detail", pk=pk)
        form = FORMS[action](request.POST)
        bound[action] = form
        if form.is_valid():
            try:
                _transition(query, action, request.user, form.cleaned_data)
            except RecordLocked:
                raise  # 403 naming the lock
            except ConflictError as error:
                for messages_ in error.errors.values():
                    for message in messages_:
                        messages.error(request, message)
                return redirect("query-detail", pk=pk)
            except ServiceError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, {"answer": _("Query answered."), "close": _("Query closed."),
                                           "reopen": _("Query re-opened.")}[action])
                return redirect("query-detail", pk=pk)
    state = query.state
    lock = lock_of(query.participant)  # read with the query: no query of its own
    may_answer = lock is None and state == QueryState.OPEN and dq.query_can_answer(request.user, query)
    may_close = lock is None and dq.query_can_close(request.user, query)
    forms_ = {
        "answer": (bound.get("answer") or AnswerForm()) if may_answer else None,
        "close": (bound.get("close") or CloseForm()) if may_close and state != QueryState.CLOSED else None,
        "reopen": (bound.get("reopen") or ReopenForm()) if may_close and state == QueryState.CLOSED else None,
    }
    for form in forms_.values():
        if form is not None:
            style(form)
    correct_url, no_correction = None, None
    if may_answer:
        correct_url, no_correction = _correction(request.user, query)
    audit_url = None
    if query.correction_history_id:
        audit_url = reverse("audit-trail", args=[query.correction_kind, query.correction_pk])
    return render(request, "followup/query_detail.html", {
        "query": query, "participant": query.participant, "thread": list(query.messages.all()),
        "forms": forms_, "correct_url": correct_url, "no_correction": no_correction, "audit_url": audit_url,
        "lock": lock})
