"""The one place that decides which records a user may see and what they may do.

A user belongs to sites with one role per site (`SiteMembership`). Every site-owned model names
the path from itself to its site(s) in `site_scope`; `Model.objects.visible_to(user)` keeps the
rows of the user's sites, and `visible_to(user, action)` only those of the sites where the user's
role allows the action. Pages, API endpoints and the admin all go through these two functions.
"""
from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .audit_querysets import AuditedQuerySet


class Action(StrEnum):
    VIEW = "view"  # read study configuration and clinical records
    VIEW_AUDIT = "view_audit"
    CONFIGURE_STUDY = "configure_study"
    SCREEN = "screen"  # screening, consent, enrolment, withdrawal
    CAPTURE = "capture"  # infusions, visits, labs, adverse events
    SIGN = "sign"  # eligibility review, escalation decisions, AE causality
    VERIFY = "verify"  # source data verification of records
    QUERY = "query"  # open a data query on a field of a record
    ANSWER_QUERY = "answer_query"  # answer a data query (with a correction through the usual edit)
    CLOSE_QUERY = "close_query"  # close or re-open a data query
    LOCK = "lock"  # lock / unlock a participant's casebook or a study's data
    MANAGE_SDV = "manage_sdv"  # choose a study's source data verification plan
    EXPORT = "export"  # take a study's data out (CSV, Excel, ODM) for the user's sites


ALL_ROLES = frozenset({"coordinator", "investigator", "monitor", "data_manager", "admin"})

PERMISSIONS: dict[Action, frozenset[str]] = {
    Action.VIEW: ALL_ROLES,
    Action.VIEW_AUDIT: ALL_ROLES,
    Action.CONFIGURE_STUDY: frozenset({"admin"}),
    Action.SCREEN: frozenset({"coordinator", "investigator"}),
    Action.CAPTURE: frozenset({"coordinator", "investigator"}),
    Action.SIGN: frozenset({"investigator"}),
    Action.VERIFY: frozenset({"monitor"}),
    # ICH E6(R3) monitoring: a monitor or an investigator asks, the site's data entry answers,
    # the asker or the data manager closes; a monitor and a data manager never edit clinical data.
    Action.QUERY: frozenset({"monitor", "investigator", "data_manager"}),
    Action.ANSWER_QUERY: frozenset({"coordinator", "investigator"}),
    Action.CLOSE_QUERY: frozenset({"monitor", "investigator", "data_manager"}),
    Action.LOCK: frozenset({"data_manager", "admin"}),
    Action.MANAGE_SDV: frozenset({"data_manager", "admin"}),
    # those who analyse, monitor or manage the data take it out; data entry does not
    Action.EXPORT: frozenset({"investigator", "monitor", "data_manager", "admin"}),
}

# Who does what beyond the actions above, each rule for one feature. Pages ask through the
# `may` filter (`trials.templatetags.scoping`), code through `site_ids_with` / `may_at`.
ROLE_RULES: dict[str, frozenset[str]] = {
    # works from the list of what is due or overdue (followup.worklist)
    "worklist": frozenset({"coordinator", "investigator", "monitor", "data_manager"}),
    # corrects a recorded assessment: the site's data entry stays with the coordinator
    "correct_assessment": frozenset({"coordinator"}),
    # receives the reminder e-mails of the site (followup.reminders)
    "reminded": frozenset({"coordinator", "investigator"}),
    # unlocks a casebook or a study's data (`Action.LOCK` locks them): administrators only
    "unlock": frozenset({"admin"}),
}

_CACHE_ATTR = "_site_roles_cache"


def remember_site_roles(user, roles: dict[int, str]) -> None:
    """Keep the user's {site id: role} read with the user (`trials.sessions.AccountBackend`)."""
    setattr(user, _CACHE_ATTR, roles)


def site_roles(user) -> dict[int, str]:
    """{site id: role} of the user's memberships, read once per request (one query; none when read
    with the user of the session)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = dict(user.memberships.values_list("site_id", "role"))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def site_ids_for(user, action: Action = Action.VIEW) -> list[int]:
    allowed = PERMISSIONS[action]
    return sorted(site for site, role in site_roles(user).items() if role in allowed)


def site_ids_with(user, rule: str) -> list[int]:
    """The sites where the user's role has `rule` (a key of `ROLE_RULES`)."""
    allowed = ROLE_RULES[rule]
    return sorted(site for site, role in site_roles(user).items() if role in allowed)


def may_at(user, rule: str, site_id: int) -> bool:
    """True when the user's role at `site_id` has `rule` (a key of `ROLE_RULES`)."""
    return site_roles(user).get(site_id) in ROLE_RULES[rule]


def may(user, what: str) -> bool:
    """True when the user may do `what` (an `Action` or a `ROLE_RULES` key) at one of their sites."""
    if what in ROLE_RULES:
        return bool(site_ids_with(user, what))
    return bool(site_ids_for(user, Action(what)))


def roles_of(user) -> set[str]:
    return set(site_roles(user).values())


def can(user, action: Action, site_ids) -> bool:
    """True when the user may do `action` at one of `site_ids`."""
    allowed = set(site_ids_for(user, action))
    return any(site_id in allowed for site_id in site_ids)


def _single_valued(model, lookup: str) -> bool:
    """True when every step of `lookup` is a foreign key (or one-to-one) to one row: filtering
    through it joins without repeating rows."""
    for name in lookup.split("__"):
        field = model._meta.get_field(name)
        if not field.is_relation or field.many_to_many or field.one_to_many:
            return False
        model = field.related_model
    return True


class ScopedQuerySet(AuditedQuerySet):
    """A queryset whose model declares `site_scope`, the lookup path to its site(s); on a model
    that keeps history, its writes keep it too (`trials.audit_querysets`)."""

    def visible_to(self, user, action: Action = Action.VIEW):
        site_ids = site_ids_for(user, action)
        lookup = self.model.site_scope
        if lookup in ("pk", "site", "site_id") or _single_valued(self.model, lookup):
            return self.filter(**{f"{lookup}__in": site_ids})
        # Paths through a many-to-many relation would repeat rows: filter on a subquery instead.
        inner = self.model._default_manager.filter(**{f"{lookup}__in": site_ids}).values("pk")
        return self.filter(pk__in=inner)


def require(user, action: Action, site_ids) -> None:
    """Raise PermissionDenied (403) unless the user's role at one of `site_ids` allows `action`.

    Call it after the record was found through `visible_to` (which gives 404 for other sites),
    so that a record of another site is never revealed and a wrong role is told so.
    """
    if not can(user, action, site_ids):
        raise PermissionDenied(_("Your role at this site does not allow this action."))
