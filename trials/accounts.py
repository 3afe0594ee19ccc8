"""User accounts: a role at a site, and the administrators' permissions (API.md 'Users')."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from .api_tokens import token_valid_or_new
from .audit import audited_save, change_context
from .enums import Role
from .models import Site, SiteMembership

ADMIN_GROUP = "Study administrators"
# The configuration an administrator edits in the browser.
ADMIN_MODELS = (
    "study", "site", "arm", "doselevel", "infusiondefinition", "visitdefinition", "eligibilitycriterion",
    "studydisease", "responsecriteriaset", "referencerange", "item", "itemplacement",
    "disease", "therapy", "analyte", "analyteunit", "analytereferencerange",
)

DEMO_ACCOUNTS = (
    ("coordinator", Role.COORDINATOR.value, "Harbour-Lantern-58"),
    ("investigator", Role.INVESTIGATOR.value, "Maple-Quartz-93"),
    ("monitor", Role.MONITOR.value, "Copper-Meadow-27"),
    ("datamanager", Role.DATA_MANAGER.value, "Willow-Beacon-46"),
    ("admin", Role.ADMIN.value, "Silver-Orchard-64"),
)


class UserError(Exception):
    pass


@dataclass
class UserResult:
    user: object
    created: bool
    generated_password: str | None
    token: str | None


def administrators_group() -> Group:
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    wanted = Permission.objects.filter(content_type__app_label="trials", content_type__model__in=ADMIN_MODELS)
    if set(group.permissions.values_list("pk", flat=True)) != set(wanted.values_list("pk", flat=True)):
        group.permissions.set(wanted)
    return group


@transaction.atomic
def user_upsert(*, username: str, role: str, site_code: str, password: str | None = None,
                with_token: bool = False, by=None) -> UserResult:
    """Create or update `username` with `role` at the site `site_code`.

    Administrators become staff (Django admin) in the administrators group; other roles lose
    staff access. A new user without a password gets a random one, returned once.
    """
    if role not in Role.values:
        raise UserError(f"Unknown role {role!r}: use one of {', '.join(Role.values)}.")
    site = Site.objects.filter(code=site_code).first()
    if site is None:
        known = ", ".join(Site.objects.values_list("code", flat=True)) or "none yet: run load_studies"
        raise UserError(f"Unknown site {site_code!r} (known sites: {known}).")
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    created = user is None
    generated = None
    if created:
        user = User(username=username)
        if password is None:
            password = generated = secrets.token_urlsafe(12)
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise UserError("Password refused: " + " ".join(exc.messages)) from None
        user.set_password(password)
    # A new password of an existing account is recorded as its "password changed" event.
    with change_context(by=by, reason="Account created by add_user" if created else "Password set by add_user"):
        user.save()
    membership = SiteMembership.objects.filter(user=user, site=site).first()
    if membership is None:
        audited_save(SiteMembership(user=user, site=site, role=role), by=by, reason="User added to the site")
    elif membership.role != role:
        membership.role = role
        audited_save(membership, by=by, reason=f"Role changed to {role}")
    # Staff access (the admin) follows every membership: an administrator at one site stays one
    # when they get another role elsewhere.
    administers = SiteMembership.objects.filter(user=user, role=Role.ADMIN).exists()
    follows = "Follows the administrator role" if administers else "Follows the loss of the administrator role"
    if user.is_staff != (administers or user.is_superuser):
        user.is_staff = administers or user.is_superuser
        with change_context(by=by, reason=follows):
            user.save(update_fields=["is_staff"])
    group = administrators_group()
    member = user.groups.filter(pk=group.pk).exists()
    with change_context(by=by, reason=follows):
        if administers and not member:
            user.groups.add(group)
        elif member and not administers:
            user.groups.remove(group)
    token = token_valid_or_new(user, by=by, reason="Made by add_user").key if with_token else None
    return UserResult(user=user, created=created, generated_password=generated, token=token)


def demo_accounts_create() -> None:
    for username, role, password in DEMO_ACCOUNTS:
        user_upsert(username=username, role=role, site_code="PUMCH", password=password)
