"""The one signature check (`trials.signatures.check_signature`): the signer's own password,
re-entered; wrong ones counted, and signing locked after LOGIN_FAILURE_LIMIT of them, whatever is
being signed."""
from datetime import UTC, datetime

import pytest

from trials.signatures import Signature, SignatureRefused, check_signature, printed_name

PASSWORD = "Long-enough-pass-91"  # make_user's default


def test_the_signers_own_password_is_accepted(investigator):
    assert check_signature(investigator, PASSWORD) is None


@pytest.mark.parametrize("password", ["", None, "long-enough-pass-91", PASSWORD + " "])
def test_a_missing_or_wrong_password_is_refused_with_the_callers_message(investigator, password):
    with pytest.raises(SignatureRefused) as refused:
        check_signature(investigator, password, refused="Not signed.")
    assert str(refused.value) == "Not signed."


def test_the_default_message_says_nothing_was_signed(investigator):
    with pytest.raises(SignatureRefused) as refused:
        check_signature(investigator, "guess")
    assert str(refused.value) == "The password is not correct: nothing was signed."


def test_signing_locks_after_the_failure_limit_even_with_the_right_password(investigator, make_user, settings):
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_LOCK_SECONDS = 3, 600
    for _ in range(3):
        with pytest.raises(SignatureRefused):
            check_signature(investigator, "guess")
    with pytest.raises(SignatureRefused) as locked:
        check_signature(investigator, PASSWORD)
    assert str(locked.value) == "Too many wrong passwords: signing is locked for 10 minutes."
    assert check_signature(make_user("investigator"), PASSWORD) is None  # another signer is not locked


def test_a_right_password_resets_the_count(investigator, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    with pytest.raises(SignatureRefused):
        check_signature(investigator, "guess")
    check_signature(investigator, PASSWORD)
    with pytest.raises(SignatureRefused):
        check_signature(investigator, "guess")
    assert check_signature(investigator, PASSWORD) is None


def test_the_refusal_names_the_field_that_holds_the_password(investigator):
    with pytest.raises(SignatureRefused) as default:
        check_signature(investigator, "guess")
    with pytest.raises(SignatureRefused) as named:
        check_signature(investigator, "", field="dismiss_password")
    assert (default.value.field, named.value.field) == ("password", "dismiss_password")


def test_a_deactivated_account_signs_nothing_even_with_its_password(investigator, settings):
    settings.LOGIN_FAILURE_LIMIT = 1
    investigator.is_active = False

    with pytest.raises(SignatureRefused) as refused:
        check_signature(investigator, PASSWORD)

    assert (str(refused.value), refused.value.field) == ("This account is deactivated: nothing was signed.",
                                                         "password")
    investigator.is_active = True
    assert check_signature(investigator, PASSWORD) is None  # the refusal counted no wrong password


def test_a_signature_shows_the_stored_printed_name_else_the_signers_full_name_else_the_username(make_user):
    when = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    signer = make_user("investigator", username="liwei")

    assert Signature.of(signer, when, "I approve.") == Signature("liwei", "liwei", when, "I approve.")
    signer.first_name, signer.last_name = "Wei", "Li"
    assert Signature.of(signer, when, "I approve.").name == "Wei Li"
    assert Signature.of(signer, when, "I approve.", name="Li Wei (PUMCH)").name == "Li Wei (PUMCH)"
    assert printed_name(signer) == "Wei Li"


@pytest.mark.parametrize("signer, when", [(None, datetime(2026, 3, 2, tzinfo=UTC)), ("someone", None)])
def test_an_unsigned_record_has_no_signature(signer, when):
    assert Signature.of(signer, when, "I approve.") is None
