"""What a signature shows, whatever was signed (21 CFR 11.50: the signer's printed name, the date
and time of signing, and its meaning). Pure: the signed models build it from their own fields
(`Screening.eligibility_signature`, `AdverseEvent.confirmation_signature`,
`EscalationDecision.signature`, `CasebookSignature.signature`) and `templates/includes/signature.html`
renders it; the check of the password is `trials.signatures.check_signature`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


def printed_name(user) -> str:
    """The name a signature prints (21 CFR 11.50): the signer's full name, else their username."""
    return (user.get_full_name() or user.get_username())[:300]


@dataclass(frozen=True)
class Signature:
    """What a signature shows, whatever was signed (21 CFR 11.50): the signer's printed name and
    username, when they signed, and the meaning they read when signing."""

    name: str
    username: str
    signed_at: datetime
    meaning: str

    @classmethod
    def of(cls, signer, signed_at: datetime | None, meaning: str, *, name: str = "") -> Signature | None:
        """The signature of a record signed by `signer` at `signed_at` (None: not signed), with the
        printed name stored with it (`name`) or else the signer's (`printed_name`)."""
        if signer is None or signed_at is None:
            return None
        return cls(name=name or printed_name(signer), username=signer.get_username(), signed_at=signed_at,
                   meaning=str(meaning))

