"""The case report forms of a casebook, and the items on each, as monitoring names them.

Source data verification, data queries, signatures and locks all speak of "an item of a record":
a record is named by its kind and primary key (`RecordRef`), an item by a code within the kind
(a model field, `lab:<analyte>` for a lab value, `item:<code>` for a study-defined item,
`prior_therapies` for the prior-therapy rows). `key` marks the items of the key-items SDV plan
(ICH E6(R3) risk-based monitoring: eligibility facts, infusion dose and time, platelet and
haemoglobin counts, adverse events).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.utils.translation import gettext_lazy as _

# The lab values whose source is always verified under the key-items plan: the response counts.
KEY_ANALYTES = frozenset({"PLT", "HGB"})


@dataclass(frozen=True)
class ItemDef:
    code: str
    label: str
    key: bool = False


@dataclass(frozen=True)
class RecordKind:
    code: str
    label: str
    model: str  # "app_label.ModelName"
    participant_path: str  # lookup from the record to its participant
    items: tuple[ItemDef, ...]
    labs: bool = False  # lab values are items (`lab:<analyte>`); screening labs are all key items
    key_labs: frozenset[str] | None = None  # None: every lab is a key item

    def model_class(self):
        return apps.get_model(self.model)


def _items(*specs) -> tuple[ItemDef, ...]:
    return tuple(ItemDef(code, label, key) for code, label, key in specs)


KINDS: dict[str, RecordKind] = {kind.code: kind for kind in (
    RecordKind("screening", _("Screening"), "enrollment.Screening", "participant", _items(
        ("screening_date", _("screening date"), False),
        ("initials", _("initials"), False),
        ("birth_date", _("date of birth"), True),
        ("sex", _("sex"), True),
        ("weight_kg", _("weight (kg)"), True),
        ("height_cm", _("height (cm)"), False),
        ("disease", _("disease"), True),
        ("diagnosis_date", _("date of diagnosis"), True),
        ("ecog", _("ECOG performance status"), True),
        ("prior_therapies", _("prior therapies"), True),
    ), labs=True, key_labs=None),
    RecordKind("consent", _("Consent"), "enrollment.Consent", "screening__participant", _items(
        ("version", _("consent form version"), True),
        ("signed_at", _("signed at"), True),
        ("obtained_by", _("consent obtained by"), False),
    )),
    RecordKind("infusion", _("Infusion"), "dosing.Infusion", "participant", _items(
        ("started_at", _("started at"), True),
        ("ended_at", _("ended at"), True),
        ("weight_kg", _("weight on the day (kg)"), True),
        ("dose_per_kg", _("dose per kg (cells/kg)"), True),
        ("cells_infused", _("cells infused"), True),
        ("product", _("cell product"), False),
        ("premedication", _("premedication"), False),
        ("vitals", _("vital signs"), False),
        ("reactions", _("immediate reactions"), True),
    )),
    RecordKind("visit", _("Visit"), "followup.Visit", "participant", _items(
        ("done_at", _("done at"), True),
        ("deviation_reason", _("deviation reason"), False),
        ("missed_reason", _("reason missed"), False),
    )),
    RecordKind("assessment", _("Assessment"), "followup.Assessment", "participant", _items(
        ("date", _("date"), True),
        ("bleeding_grade", _("WHO bleeding grade"), False),
        ("steroid_drug", _("corticosteroid"), False),
        ("steroid_dose_mg_per_day", _("corticosteroid dose (mg/day)"), False),
        ("transfusions", _("transfusions"), False),
        ("rescue_therapies", _("rescue therapies"), False),
    ), labs=True, key_labs=KEY_ANALYTES),
    RecordKind("adverse_event", _("Adverse event"), "followup.AdverseEvent", "participant", _items(
        ("term", _("CTCAE term"), True),
        ("onset_date", _("onset"), True),
        ("resolution_date", _("resolved on"), True),
        ("grade", _("CTCAE grade"), True),
        ("serious", _("serious"), True),
        ("relationship", _("relationship to treatment"), True),
        ("outcome", _("outcome"), True),
    )),
)}


@dataclass(frozen=True)
class RecordRef:
    kind: str
    pk: int

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Unknown record kind {self.kind!r}.")

    @property
    def definition(self) -> RecordKind:
        return KINDS[self.kind]


def record_items(kind: str, *, analytes=(), item_codes=(), key_only: bool = False) -> list[ItemDef]:
    """The items of one record of `kind`: its fields, then `lab:<analyte>` for each analyte the
    record holds and `item:<code>` for each study-defined item; only the key items when `key_only`."""
    definition = KINDS[kind]
    found = list(definition.items)
    if definition.labs:
        for analyte in sorted(analytes):
            key = definition.key_labs is None or analyte in definition.key_labs
            found.append(ItemDef(f"lab:{analyte}", analyte, key))
    found.extend(ItemDef(f"item:{code}", code, False) for code in sorted(item_codes))
    return [item for item in found if item.key or not key_only]


def item_is_known(kind: str, code: str) -> bool:
    """True when `code` can name an item of a record of `kind` (a field, a lab or an item code)."""
    definition = KINDS.get(kind)
    if definition is None:
        return False
    if code.startswith("lab:"):
        return definition.labs and len(code) > 4
    if code.startswith("item:"):
        return kind in ("screening", "assessment") and len(code) > 5
    return any(item.code == code for item in definition.items)
