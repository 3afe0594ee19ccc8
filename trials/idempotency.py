"""Double submission: a form posted twice, or an API POST sent twice, creates one record.

Two doors, one mechanism (`SubmissionKey`, claimed before the view runs):

* A browser form carries a one-time token (`{% include "includes/submission_token.html" %}`): a
  signed random nonce bound to the user, made when the form is rendered. The first post claims
  it; a later post of the same token creates nothing and is sent to the record created then, with
  "This form was already submitted; the record below was created then.". A token signed for
  another user, altered, or older than 24 hours is refused with a message and nothing is saved. A
  post without a token (a script, a test client) is processed as before. A post that saves
  nothing (the form shown again with its errors) releases the token.
* An API POST may carry `Idempotency-Key: <string>` (API.md 'Versions, idempotency'): the same key
  from the same user within 24 hours replays the first response (status and body) and creates
  nothing more; the key with another request (method, path or body) is 422; while the first
  request runs, the same key is 409. Only a 2xx response is kept: after a 4xx or 5xx the key is
  released and the client may retry with it.

The claim is an `INSERT ... ON CONFLICT DO NOTHING` on the unique (user, kind, key): of two
concurrent requests exactly one inserts, whatever the timing; it is committed before the view
runs (requests run in autocommit), so the other sees it.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.settings import api_settings

from .models import SubmissionKey

KEPT_FOR = timedelta(hours=24)
TOKEN_FIELD = "submission_token"
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
API_PREFIX = "/api/"
SALT = "trials.idempotency.submission-token"
# How long a second post of a form waits for the first one, still running, to finish.
DEFAULT_WAIT_SECONDS = 5.0
POLL_SECONDS = 0.2


# ---------------------------------------------------------------------------------------------
# Form tokens
# ---------------------------------------------------------------------------------------------

class TokenRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def submission_token_new(user) -> str:
    """A one-time token for a form rendered for `user`: signed, with the time it was made."""
    return signing.dumps({"u": user.pk, "n": secrets.token_urlsafe(18)}, salt=SALT)


def submission_token_nonce(token: str, user) -> str:
    """The nonce of a token made for `user` within 24 hours; `TokenRefused` with the reason otherwise."""
    try:
        data = signing.loads(token, salt=SALT, max_age=KEPT_FOR)
    except signing.SignatureExpired:
        raise TokenRefused(_("This form was opened more than 24 hours ago and was not saved; "
                             "fill it in again.")) from None
    except signing.BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("u") != user.pk or not isinstance(data.get("n"), str):
        raise TokenRefused(_("This form could not be verified (it was opened by another user or altered) "
                             "and was not saved; fill it in again."))
    return data["n"]


# ---------------------------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    created: bool
    record: SubmissionKey


def _insert(*, user, kind: str, key: str, fingerprint: str, now: datetime) -> int | None:
    """Insert the claim unless (user, kind, key) exists: its id, or None. One statement."""
    meta = SubmissionKey._meta
    qn = connection.ops.quote_name
    columns = ["user", "kind", "key", "fingerprint", "created_at", "response_content_type", "response_body",
               "location"]
    values = [user.pk, kind, key, fingerprint, now, "", "", ""]
    fields = [meta.get_field(name) for name in columns]
    params = [field.get_db_prep_save(value, connection) for field, value in zip(fields, values, strict=True)]
    names = ", ".join(qn(field.column) for field in fields)
    unique = ", ".join(qn(meta.get_field(name).column) for name in ("user", "kind", "key"))
    sql = (f"INSERT INTO {qn(meta.db_table)} ({names}) VALUES ({', '.join(['%s'] * len(params))}) "
           f"ON CONFLICT ({unique}) DO NOTHING RETURNING {qn(meta.pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def claim(*, user, kind: str, key: str, fingerprint: str, now: datetime) -> Claim:
    """Claim `key` for `user`: `created` when this call inserted it, else the existing claim.

    A claim older than 24 hours no longer counts: it is deleted and the key claimed afresh.
    """
    for _attempt in range(3):
        pk = _insert(user=user, kind=kind, key=key, fingerprint=fingerprint, now=now)
        if pk is not None:
            return Claim(True, SubmissionKey(pk=pk, user=user, kind=kind, key=key, fingerprint=fingerprint,
                                             created_at=now))
        existing = SubmissionKey.objects.filter(user=user, kind=kind, key=key).first()
        if existing is None:  # released meanwhile: try again
            continue
        if existing.created_at > now - KEPT_FOR:
            return Claim(False, existing)
        SubmissionKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
    # Claimed and released again and again meanwhile: answer as for a request in progress.
    return Claim(False, SubmissionKey(user=user, kind=kind, key=key, fingerprint=fingerprint, created_at=now))


def claim_complete(record: SubmissionKey, *, response: HttpResponse, now: datetime, keep_body: bool) -> None:
    """Keep the first response with the claim, for replay."""
    body = response.content.decode(response.charset or "utf-8", errors="replace") if keep_body else ""
    SubmissionKey.objects.filter(pk=record.pk).update(
        completed_at=now, response_status=response.status_code,
        response_content_type=response.get("Content-Type", "")[:100], response_body=body,
        location=response.get("Location", "")[:2000])


def claim_release(record: SubmissionKey) -> None:
    """Give the key back (nothing was created): the same key may be sent again."""
    SubmissionKey.objects.filter(pk=record.pk).delete()


def submission_keys_expired_delete(*, now: datetime) -> int:
    """Delete claims older than 24 hours; how many were deleted."""
    return SubmissionKey.objects.filter(created_at__lte=now - KEPT_FOR).delete()[0]


def request_fingerprint(request: HttpRequest) -> str:
    """An HMAC (keyed by SECRET_KEY) of the method, path and body, JSON compared by value, not by
    spacing or key order. Keyed, not a bare hash: a signing body carries the signer's password, and
    a stored bare SHA-256 of it could be guessed offline by whoever reads the table."""
    body = request.body
    try:
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        pass
    return salted_hmac("trials.idempotency.request", f"{request.method} {request.path}\n".encode() + body,
                       algorithm="sha256").hexdigest()


# ---------------------------------------------------------------------------------------------
# The middleware: every POST, pages and API
# ---------------------------------------------------------------------------------------------

def _api_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"errors": {HEADER: [message]}}, status=status)


def _api_user(request: HttpRequest):
    """The user the API view will authenticate (token, session or a test's forced user), or None.

    Authenticated as DRF will (the configured authenticators), leaving `request.user` as it was so
    the view authenticates exactly as without a key.
    """
    previous = request.user if hasattr(request, "user") else None
    try:
        user = Request(request, parsers=[cls() for cls in api_settings.DEFAULT_PARSER_CLASSES],
                       authenticators=[cls() for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES]).user
    except APIException:
        user = None
    finally:
        if previous is not None:
            request.user = previous
    return user if user is not None and user.is_authenticated else None


def _has_error_message(request: HttpRequest) -> bool:
    """Whether the view queued an error message (a refusal answered with a redirect)."""
    queued = getattr(getattr(request, "_messages", None), "_queued_messages", [])
    return any(message.level >= messages.ERROR for message in queued)


class SubmissionOnceMiddleware:
    """A form's token or an API POST's `Idempotency-Key` claimed before the view, replayed after."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST":
            return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            key = request.headers.get(HEADER)
            return self.get_response(request) if key is None else self._api(request, key)
        user = getattr(request, "user", None)
        token = request.POST.get(TOKEN_FIELD) if user is not None and user.is_authenticated else None
        return self._form(request, user, token) if token else self.get_response(request)

    # -- API --------------------------------------------------------------------------------------

    def _api(self, request, key: str):
        if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return _api_error(400, _("Send 1 to %(max)d printable characters.") % {"max": MAX_KEY_LENGTH})
        # The body is read before authenticating: a session's CSRF check may parse a form body, after
        # which the raw body can no longer be read.
        fingerprint = request_fingerprint(request)
        user = _api_user(request)
        if user is None:
            return self.get_response(request)  # the view answers 401/403
        claimed = claim(user=user, kind=SubmissionKey.Kind.API, key=key, fingerprint=fingerprint, now=timezone.now())
        if claimed.created:
            return self._run(request, claimed.record, keep_body=True,
                             succeeded=lambda response: 200 <= response.status_code < 300)
        record = claimed.record
        if record.fingerprint != fingerprint:
            return _api_error(422, _("This key was sent with another request in the last 24 hours; "
                                     "send a new key for a new request."))
        if record.completed_at is None:
            return _api_error(409, _("A request with this key is in progress; send it again when it has finished."))
        response = HttpResponse(record.response_body, status=record.response_status,
                                content_type=record.response_content_type or "application/json")
        response["Idempotent-Replayed"] = "true"
        return response

    # -- Forms ------------------------------------------------------------------------------------

    def _form(self, request, user, token: str):
        try:
            nonce = submission_token_nonce(token, user)
        except TokenRefused as refused:
            messages.error(request, refused.message)
            return redirect(request.get_full_path())
        fingerprint = hashlib.sha256(request.path.encode()).hexdigest()
        wait = float(getattr(settings, "SUBMISSION_WAIT_SECONDS", DEFAULT_WAIT_SECONDS))
        deadline = time.monotonic() + wait
        while True:
            claimed = claim(user=user, kind=SubmissionKey.Kind.FORM, key=nonce, fingerprint=fingerprint,
                            now=timezone.now())
            if claimed.created:
                return self._run(request, claimed.record, keep_body=False,
                                 succeeded=lambda response: (300 <= response.status_code < 400
                                                             and not _has_error_message(request)))
            record = claimed.record
            if (record.completed_at is not None or record.fingerprint != fingerprint
                    or time.monotonic() >= deadline):
                break
            time.sleep(POLL_SECONDS)
        if record.fingerprint != fingerprint:
            messages.error(request, _("This form could not be verified (it was opened by another user or altered) "
                                      "and was not saved; fill it in again."))
        elif record.completed_at is not None and record.location:
            messages.info(request, _("This form was already submitted; the record below was created then."))
            return redirect(record.location)
        else:
            messages.warning(request, _("This form is being submitted already; check that its record was "
                                        "created before submitting it again."))
        return redirect(request.get_full_path())

    # -- Both -------------------------------------------------------------------------------------

    def _run(self, request, record: SubmissionKey, *, keep_body: bool, succeeded):
        """Run the view under the claim: keep its response if it created something, else release."""
        try:
            response = self.get_response(request)
        except BaseException:
            claim_release(record)
            raise
        if succeeded(response) and not getattr(response, "streaming", False):
            claim_complete(record, response=response, now=timezone.now(), keep_body=keep_body)
        else:
            claim_release(record)
        return response


def schema_with_idempotency_key(result, generator, request, public):
    """drf-spectacular hook: every POST of the schema documents the optional `Idempotency-Key` header."""
    parameter = {
        "in": "header", "name": HEADER, "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        "description": "The same key from the same user within 24 hours returns the first (2xx) response and "
                       "creates nothing more; 422 with another request, 409 while the first is running.",
    }
    for operations in result.get("paths", {}).values():
        post = operations.get("post")
        if post is not None and not any(p.get("name") == HEADER for p in post.get("parameters", [])):
            post.setdefault("parameters", []).append(parameter)
    return result
