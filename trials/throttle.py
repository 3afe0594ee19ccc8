"""Wrong-password throttling, per account and per client address.

Every check of a user's password counts its failures against the account: sign-in, an electronic
signature (`trials.signatures`, the same password signs decisions) and a password change. After
LOGIN_FAILURE_LIMIT of them within LOGIN_LOCK_SECONDS the account is locked for LOGIN_LOCK_SECONDS
from the failure that locked it: its sign-in (even with the right password), signing, password
change and API token are refused. A right password before then starts the count again.

Failed sign-ins also count against the client address, with the much higher
LOGIN_ADDRESS_FAILURE_LIMIT: one person cannot lock everybody who shares an address (a hospital's
NAT, a proxy), yet one address cannot try passwords of many accounts without end. The client
address is the connection's (REMOTE_ADDR), unless the connection comes from one of TRUSTED_PROXIES:
then it is the last address in X-Forwarded-For that is not a trusted proxy. A header sent by anyone
else is ignored, so it cannot be forged to escape the count or to lock another address.

The counters live in the database (`PasswordFailureCount`), not in the cache: every web process
counts together, and sign-in keeps working, and keeps being throttled, when Redis is down. A wrong
signature password is found inside the service's transaction, which its refusal rolls back: during
a request the count is kept aside and written after the view (`PasswordFailuresMiddleware`), so
that it is not rolled back with the refused signature.

The failure that locks an account is an event of the account (`AccountEvent`, "locked"): the
account's sessions begun before it are signed out on their next request (`trials.sessions`).
"""
from __future__ import annotations

import contextvars
import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from .account_events import event_record
from .auth_models import AccountEvent, AccountEventKind, PasswordFailureCount


# ---------------------------------------------------------------------------------------------
# The client address
# ---------------------------------------------------------------------------------------------

def _trusted(address, networks) -> bool:
    return any(address in network for network in networks)


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request) -> str:
    """The client's address: X-Forwarded-For's only when the connection is a trusted proxy's."""
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    networks = [ipaddress.ip_network(value, strict=False) for value in settings.TRUSTED_PROXIES]
    connection = _ip(remote)
    if connection is None or not _trusted(connection, networks):
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    client = connection
    # From the nearest hop back: each trusted proxy vouches for the address before it.
    for part in reversed(forwarded):
        address = _ip(part)
        if address is None:
            break  # a malformed entry: the last address vouched for stays the client
        client = address
        if not _trusted(address, networks):
            break
    return str(client)


# ---------------------------------------------------------------------------------------------
# Counters
# ---------------------------------------------------------------------------------------------

def account_key(username: str) -> str:
    return f"account:{(username or '').strip().lower()}"[:200]


def address_key(address: str) -> str:
    return f"address:{address}"[:200]


@dataclass(frozen=True)
class Lock:
    """A lock in force: what is locked (`account` or `address`) and for how many more seconds."""

    scope: str
    seconds: int

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.seconds / 60))


def limit_of(key: str) -> int:
    return settings.LOGIN_ADDRESS_FAILURE_LIMIT if key.startswith("address:") else settings.LOGIN_FAILURE_LIMIT


@dataclass(frozen=True)
class State:
    """The counts in force on some keys: the lock among them (the longest), and whether any is counting."""

    lock: Lock | None
    counting: bool


def state_of(*keys: str) -> State:
    """One query."""
    now = timezone.now()
    rows = list(PasswordFailureCount.objects.filter(key__in=keys, expires_at__gt=now).values_list(
        "key", "count", "expires_at"))
    locks = [Lock(scope=key.split(":", 1)[0], seconds=math.ceil((expires_at - now).total_seconds()))
             for key, count, expires_at in rows if count >= limit_of(key)]
    return State(lock=max(locks, key=lambda lock: lock.seconds, default=None), counting=bool(rows))


def lock_of(*keys: str) -> Lock | None:
    """The lock in force on any of `keys` (the longest), or None: one query."""
    return state_of(*keys).lock


def account_lock(user) -> Lock | None:
    return lock_of(account_key(user.get_username()))


# The failures found inside a transaction during the current request (None outside a request).
_pending: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("password_failures", default=None)


def _in_transaction() -> bool:
    """Inside a transaction the code opened (a test's own wrapping transaction does not count)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def failed(*keys: str) -> None:
    """Count one wrong password against each of `keys`; reaching its limit locks for the full period.

    Inside a transaction during a request the count is written once the view has answered (a
    refusal rolls its transaction back); elsewhere at once."""
    pending = _pending.get()
    if pending is not None and _in_transaction():
        pending.extend(keys)
        return
    _record(keys)


class PasswordFailuresMiddleware:
    """Writes the wrong passwords counted inside the view's transactions once the view has answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        pending: list[str] = []
        reset = _pending.set(pending)
        try:
            return self.get_response(request)
        finally:
            _pending.reset(reset)
            if pending:
                _record(pending)


def _record(keys) -> None:
    now = timezone.now()
    period = timedelta(seconds=settings.LOGIN_LOCK_SECONDS)
    for key in keys:
        limit = limit_of(key)
        counting = PasswordFailureCount.objects.filter(key=key, expires_at__gt=now)
        # One UPDATE, atomic in the database: concurrent failures are all counted.
        one_more = {"count": F("count") + 1, "expires_at": Case(
            When(count__gte=limit - 1, then=Value(now + period)), default=F("expires_at"),
            output_field=models.DateTimeField())}
        if counting.update(**one_more):
            _note_lock(key, period)
            continue
        if PasswordFailureCount.objects.filter(key=key, expires_at__lte=now).update(count=1, expires_at=now + period):
            _note_lock(key, period)
            continue  # an expired count starts again
        try:
            with transaction.atomic():
                PasswordFailureCount.objects.create(key=key, count=1, expires_at=now + period)
        except IntegrityError:  # created meanwhile by a concurrent failure
            counting.update(**one_more)
        _note_lock(key, period)
        # The first failure of a key clears counts that ended long ago.
        PasswordFailureCount.objects.filter(expires_at__lt=now - period).delete()


def _note_lock(key: str, period: timedelta) -> None:
    """When `key` is an account's and is now locked: the lock is an event of the account(s) of that
    name (once per lock), which ends their sessions."""
    if not key.startswith("account:"):
        return
    row = PasswordFailureCount.objects.filter(key=key).values_list("count", "expires_at").first()
    if row is None or row[0] < limit_of(key):
        return
    name = key.split(":", 1)[1]
    for user in get_user_model()._default_manager.filter(username__iexact=name):
        if not AccountEvent.objects.filter(user=user, kind=AccountEventKind.LOCKED, at__gte=row[1] - period).exists():
            event_record(user, AccountEventKind.LOCKED, by=None, reason="Too many wrong passwords")


def succeeded(*keys: str) -> None:
    """A right password: the count of `keys` starts again (an address's count stays)."""
    PasswordFailureCount.objects.filter(key__in=keys).delete()
