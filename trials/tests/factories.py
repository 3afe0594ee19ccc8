"""Factories of the trials kernel's records: sites (plain model rows) and users with one role at one
site, made as the product makes them (`trials.accounts.user_upsert`: the membership, the admin
group and staff flag, the password)."""
import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from trials.accounts import user_upsert
from trials.models import Site
from trials.tests.support import SIGNER_PASSWORD


class SiteFactory(DjangoModelFactory):
    """A site, found by its code when it exists (the built-in studies load PUMCH)."""

    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = "PUMCH"
    name = factory.LazyAttribute(lambda site: f"Hospital {site.code}")


class UserFactory(factory.Factory):
    """A user with ``role`` at the site ``site`` (a code; the site is made when missing), whose
    password is :data:`SIGNER_PASSWORD` unless given."""

    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    role = "coordinator"
    site = "PUMCH"
    password = SIGNER_PASSWORD

    @classmethod
    def _create(cls, model_class, *, username, role, site, password):
        SiteFactory(code=site)
        return user_upsert(username=username, role=role, site_code=site, password=password).user
