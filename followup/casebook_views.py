"""The printable casebook page (`followup.casebook`): for every role of the participant's site,
404 elsewhere. It prints on paper or to PDF through the browser, with the print stylesheet."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from .casebook import casebook, casebook_participant


@login_required
def participant_casebook(request, pk):
    participant = casebook_participant(request.user, pk)
    return render(request, "followup/casebook.html", {
        "participant": participant, "study": participant.study, "casebook": casebook(participant),
        "printed_at": timezone.now()})
