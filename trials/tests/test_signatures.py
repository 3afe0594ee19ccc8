"""The one signature check (`trials.signatures.check_signature`): the signer's own password,
re-entered; wrong ones counted, and signing locked after LOGIN_FAILURE_LIMIT of them, whatever is
being signed."""
import pytest

from trials.signatures import SignatureRefused, check_signature

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
