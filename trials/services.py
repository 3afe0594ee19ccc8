"""Writes of study configuration.

`studies_load` creates studies from the declarative files in `trials/studies/`: each row is
matched on its natural key (study code; arm code; dose level code; infusion number; visit code;
criterion code) and validated with the same rules as the admin forms. Missing rows are created;
rows that differ from the file are kept (administrators may have changed them) and reported, or,
with `update=True`, set to the file's values with the file named as the reason. Loading twice
changes nothing.
It never deletes: rows that the file no longer lists are reported, so data captured against
them stays intact. A dose level's status is set only when the level is created, because opening
and closing levels is the escalation decisions' business afterwards.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import catalogues
from .amendments import require_study_administrator, version_first, version_sync
from .audit import audited_save, change_context
from .catalogue_services import catalogues_load
from .enums import DoseLevelStatus, StudyStatus
from .errors import ConflictError, Errors, ServiceError
from .item_definitions import DOCUMENT_NAMES, ITEM_KEYS, SCREENING_FORM, item_values
from .limits import reason_length_error
from .loading import LoadReport, StudyDefinitionError, _report_extra, _upsert
from .models import (
    Arm,
    DoseLevel,
    EligibilityCriterion,
    InfusionDefinition,
    Item,
    ItemPlacement,
    ReferenceRange,
    ResponseCriteriaSet,
    Site,
    Study,
    StudyDisease,
    VisitDefinition,
    WorkerHeartbeat,
)
from .response_period import period_cuts
from .scoping import Action, site_ids_for

STUDIES_DIR = Path(__file__).resolve().parent / "studies"
RESPONSE_CRITERIA_FILE = "response_criteria.yaml"
SITES_FILE = "sites.yaml"
CATALOGUES_FILE = "catalogues.yaml"


def _read_yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise StudyDefinitionError(
            _("%(file)s: not valid YAML: %(error)s") % {"file": path.name, "error": exc}) from None


def _as_date(value, label: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise StudyDefinitionError(_("%(label)s: %(value)r is not a date (YYYY-MM-DD).") % {
            "label": label, "value": value}) from None


def response_criteria_load(data: list[dict], *, by, reason: str, report: LoadReport) -> None:
    for row in data:
        _upsert(
            ResponseCriteriaSet,
            key={"code": row["code"]},
            values={
                "name": row["name"],
                "name_zh": row.get("name_zh") or "",
                "version": str(row["version"]),
                "family": row["family"],
                "source": row["source"],
                "description": row.get("description", ""),
                "description_zh": row.get("description_zh") or "",
                "thresholds": row.get("thresholds", {}),
            },
            by=by, reason=reason, report=report, label=_named("response criteria", row["code"]),
        )


def _site_values(row: dict) -> dict:
    """A site's values from a sites file or a study definition; a Chinese name only where given (a
    study definition naming its site in English alone leaves the sites file's Chinese name)."""
    return {"name": row["name"], **({"name_zh": row["name_zh"]} if row.get("name_zh") else {})}


def sites_load(data: list[dict], *, by, reason: str, report: LoadReport) -> None:
    """Sites and their laboratories' reference ranges (matched on site, analyte, sex, age band)."""
    for row in data:
        site = _upsert(Site, key={"code": row["code"]}, values=_site_values(row), by=by, reason=reason,
                       report=report, label=_named("site", row["code"]))
        for ref in row.get("reference_ranges", []):
            sex, low_age = ref.get("sex", "any"), ref.get("min_age_years", 0)
            _upsert(
                ReferenceRange,
                key={"site": site, "analyte": ref["analyte"], "sex": sex, "min_age_years": low_age},
                values={"max_age_years": ref.get("max_age_years", 150), "lln": ref.get("lln"), "uln": ref.get("uln"),
                        "source": ref.get("source", f"Loaded from {SITES_FILE}")},
                by=by, reason=reason, report=report,
                label=_("site %(site)s reference range %(analyte)s %(sex)s from %(age)s y") % {
                    "site": site.code, "analyte": ref["analyte"], "sex": sex, "age": low_age},
            )


# The keys a study definition may use, per row (`trials.definitions.study_definition` writes them
# all). Any other key is refused with its place: a mistyped key would otherwise be ignored silently.
DEFINITION_KEYS = {
    "study": {"code", "title", "title_zh", "registry_id", "version", "effective_date", "design", "design_zh",
              "intervention", "intervention_zh", "primary_endpoint", "primary_endpoint_zh", "enrolment_target",
              "uses_dose_escalation", "eligibility_confirmation_required",
              "response_from_day", "response_until_day", "response_time_points", "time_point_window_days", "sites",
              "diseases", "arms", "items", "visits", "criteria"},
    "site": {"code", "name", "name_zh"},
    "disease": {"disease", "response_criteria"},
    "arm": {"code", "name", "name_zh", "description", "description_zh", "product_kind", "missed_infusion_rule",
            "dose_levels", "infusions"},
    "dose level": {"code", "label", "label_zh", "order", "dose_basis", "dose_per_kg", "flat_dose", "hard_limit_low",
                   "hard_limit_high", "group_cap", "status"},
    "infusion": {"number", "anchor", "offset_days", "window_before_days", "window_after_days"},
    "visit": {"code", "label", "label_zh", "arm", "anchor", "offset", "offset_unit", "window_before", "window_after",
              "window_unit", "assessments", "sex_restriction", "first_n_participants"},
    "criterion": {"code", "kind", "text", "text_zh", "source", "rule_type", "params"},
    "item": set(ITEM_KEYS),
}


# The kinds of row of a definition, as its errors name them.
_KINDS = {"study": gettext_lazy("study"), "site": gettext_lazy("site"), "disease": gettext_lazy("disease"),
          "visit": gettext_lazy("visit"), "criterion": gettext_lazy("criterion"), "item": gettext_lazy("item"),
          "arm": gettext_lazy("arm"), "dose level": gettext_lazy("dose level"), "infusion": gettext_lazy("infusion"),
          "response criteria": gettext_lazy("response criteria")}


def _kind(kind: str) -> str:
    return str(_KINDS.get(kind, kind))


def _study_label(code) -> str:
    return _("study %(code)s") % {"code": code}


def _named(kind: str, name) -> str:
    """A row of the files that no study owns: "site PUMCH"."""
    return _("%(kind)s %(name)s") % {"kind": _kind(kind), "name": name}


def _row_label(owner, kind: str, name) -> str:
    """A row of the definition as its errors name it: "MSC-ITP-5 visit W1"."""
    return _("%(owner)s %(kind)s %(name)s") % {"owner": owner, "kind": _kind(kind), "name": name}


def _definition_key_errors(data: dict) -> list[str]:
    """Where the definition uses a key no row of its kind has, or a row that is not a mapping."""
    code = data.get("code", "?")
    problems = []

    def check(row, kind: str, label: str) -> None:
        if not isinstance(row, dict):
            problems.append(_("%(label)s: not a mapping of keys to values.") % {"label": label})
            return
        unknown = sorted(str(key) for key in row if key not in DEFINITION_KEYS[kind])
        if unknown:
            problems.append(_("%(label)s: unknown key(s) %(keys)s (a %(kind)s has %(known)s).") % {
                "label": label, "keys": ", ".join(unknown), "kind": _kind(kind),
                "known": ", ".join(sorted(DEFINITION_KEYS[kind]))})

    def rows(owner: dict, key: str, label: str) -> list:
        value = owner.get(key) or []
        if not isinstance(value, list):
            problems.append(_("%(label)s: %(key)s must be a list.") % {"label": label, "key": key})
            return []
        return value

    check(data, "study", _study_label(code))
    if problems:
        return problems
    for kind, key in (("site", "sites"), ("disease", "diseases"), ("visit", "visits"), ("criterion", "criteria"),
                      ("item", "items")):
        for index, row in enumerate(rows(data, key, _study_label(code))):
            check(row, kind, _row_label(code, kind, row.get("code", index) if isinstance(row, dict) else index))
    for index, arm in enumerate(rows(data, "arms", _study_label(code))):
        arm_label = _row_label(code, "arm", arm.get("code", index) if isinstance(arm, dict) else index)
        check(arm, "arm", arm_label)
        for kind, key in (("dose level", "dose_levels"), ("infusion", "infusions")):
            for position, row in enumerate(rows(arm, key, arm_label) if isinstance(arm, dict) else []):
                name = row.get("code", row.get("number", position)) if isinstance(row, dict) else position
                check(row, kind, _row_label(arm_label, kind, name))
    return problems


def study_load(data: dict, *, by, reason: str, report: LoadReport, status: str = StudyStatus.ACTIVE) -> Study:
    """Create or update one study from its parsed definition. A key no row of its kind has, or a
    response period that cuts a visit window (`response_period.period_cuts`), is refused before
    anything is written. A study created gets `status` (a study file loads as a running study; a
    copy or an upload starts as a draft); an existing study keeps its own."""
    problems = _definition_key_errors(data)
    if problems:
        raise StudyDefinitionError(" ".join(problems))
    code = data["code"]
    cuts = period_cuts(data.get("visits", []), data.get("response_from_day"), data.get("response_until_day"))
    if cuts:
        raise StudyDefinitionError(" ".join(_("%(study)s response period, visit %(visit)s: %(problem)s") % {
            "study": code, "visit": visit, "problem": message} for visit, message in cuts.items()))
    study = _upsert(
        Study,
        key={"code": code},
        values={
            "title": data["title"],
            "title_zh": data.get("title_zh") or "",
            "registry_id": data.get("registry_id") or "",
            "design": data.get("design") or "",
            "design_zh": data.get("design_zh") or "",
            "intervention": data.get("intervention") or "",
            "intervention_zh": data.get("intervention_zh") or "",
            "primary_endpoint": data.get("primary_endpoint") or "",
            "primary_endpoint_zh": data.get("primary_endpoint_zh") or "",
            "enrolment_target": data["enrolment_target"],
            "uses_dose_escalation": bool(data.get("uses_dose_escalation", False)),
            "eligibility_confirmation_required": bool(data.get("eligibility_confirmation_required", True)),
            "response_from_day": data.get("response_from_day"),
            "response_until_day": data.get("response_until_day"),
            "response_time_points": data.get("response_time_points") or {},
            "time_point_window_days": data.get("time_point_window_days", 7),
        },
        # The version number and effective date are the version in force's (`trials.amendments`).
        create_only={"status": status, "version": str(data["version"]),
                     "effective_date": _as_date(data["effective_date"], f"{code} effective_date")},
        by=by, reason=reason, report=report, label=_study_label(code),
    )
    for row in data.get("sites", []):
        site = _upsert(Site, key={"code": row["code"]}, values=_site_values(row), by=by, reason=reason,
                       report=report, label=_named("site", row["code"]))
        if not study.sites.filter(pk=site.pk).exists():
            with change_context(by=by, reason=reason):
                study.sites.add(site)
            report.updated.append(f"study {code}: site {site.code} added")

    criteria_sets = {c.code: c for c in ResponseCriteriaSet.objects.all()}
    listed_diseases = set()
    for index, row in enumerate(data.get("diseases", [])):
        # Without its own set, a disease uses the one the catalogue names for it.
        catalogued = catalogues.current().diseases.get(row["disease"])
        criteria_code = row.get("response_criteria") or (catalogued.response_criteria if catalogued else None)
        if catalogued is None and not row.get("response_criteria"):
            message = _("Unknown disease; use one of %(codes)s.") % {"codes": ", ".join(catalogues.current().diseases)}
            raise StudyDefinitionError(_("%(label)s: %(problem)s") % {
                "label": _row_label(code, "disease", row["disease"]), "problem": message},
                {f"diseases.{index}.disease": [message]})
        if criteria_code not in criteria_sets:
            raise StudyDefinitionError(_("%(label)s: unknown response criteria set %(set)r.") % {
                "label": _row_label(code, "disease", row["disease"]), "set": criteria_code})
        listed_diseases.add(row["disease"])
        _upsert(StudyDisease, key={"study": study, "disease": row["disease"]},
                values={"response_criteria": criteria_sets[criteria_code]}, by=by, reason=reason, report=report,
                label=_row_label(code, "disease", row["disease"]), path=f"diseases.{index}")
    _report_extra(report, f"{code} disease", study.diseases.exclude(disease__in=listed_diseases), "disease")

    listed_arms = set()
    for arm_index, row in enumerate(data.get("arms", [])):
        listed_arms.add(row["code"])
        arm = _upsert(
            Arm, key={"study": study, "code": row["code"]},
            values={
                "name": row["name"], "name_zh": row.get("name_zh") or "", "description": row.get("description") or "",
                "description_zh": row.get("description_zh") or "",
                "product_kind": row["product_kind"],
                "missed_infusion_rule": row.get("missed_infusion_rule", "last_given"),
            },
            by=by, reason=reason, report=report, label=_row_label(code, "arm", row["code"]), path=f"arms.{arm_index}",
        )
        levels = set()
        for level_index, level in enumerate(row.get("dose_levels", [])):
            levels.add(level["code"])
            _upsert(
                DoseLevel, key={"arm": arm, "code": level["code"]},
                values={
                    "label": level.get("label") or "", "label_zh": level.get("label_zh") or "", "order": level["order"],
                    "dose_basis": level["dose_basis"],
                    "dose_per_kg": level.get("dose_per_kg"), "flat_dose": level.get("flat_dose"),
                    "hard_limit_low": level.get("hard_limit_low", 0.5),
                    "hard_limit_high": level.get("hard_limit_high", 2.0),
                    "group_cap": level.get("group_cap"),
                },
                # Without dose escalation no decision ever opens a level: it starts open.
                create_only={"status": level.get("status") or ("planned" if study.uses_dose_escalation else "open")},
                by=by, reason=reason, report=report,
                label=_row_label(_row_label(code, "arm", arm.code), "dose level", level["code"]),
                path=f"arms.{arm_index}.dose_levels.{level_index}",
            )
        _report_extra(report, f"{code} arm {arm.code} dose level", arm.dose_levels.exclude(code__in=levels), "code")
        numbers = set()
        for infusion_index, infusion in enumerate(row.get("infusions", [])):
            numbers.add(infusion["number"])
            _upsert(
                InfusionDefinition, key={"arm": arm, "number": infusion["number"]},
                values={key: infusion[key]
                        for key in ("anchor", "offset_days", "window_before_days", "window_after_days")},
                by=by, reason=reason, report=report,
                label=_row_label(_row_label(code, "arm", arm.code), "infusion", infusion["number"]),
                path=f"arms.{arm_index}.infusions.{infusion_index}",
            )
        _report_extra(report, f"{code} arm {arm.code} infusion",
                      arm.infusion_definitions.exclude(number__in=numbers), "number")
    _report_extra(report, f"{code} arm", study.arms.exclude(code__in=listed_arms), "code")

    _items_load(study, data, by=by, reason=reason, report=report)

    arms = {arm.code: arm for arm in study.arms.all()}
    visit_codes = set()
    for order, row in enumerate(data.get("visits", []), start=1):
        visit_codes.add(row["code"])
        _upsert(
            VisitDefinition, key={"study": study, "code": row["code"]},
            values={
                "arm": arms[row["arm"]] if row.get("arm") else None,
                "label": row["label"], "label_zh": row.get("label_zh") or "", "anchor": row["anchor"],
                "offset": row["offset"],
                "offset_unit": row.get("offset_unit", "days"),
                "window_before": row.get("window_before", 0), "window_after": row.get("window_after", 0),
                "window_unit": row.get("window_unit", "days"), "assessments": list(row.get("assessments", [])),
                "sex_restriction": row.get("sex_restriction", "any"),
                "first_n_participants": row.get("first_n_participants"), "order": order,
            },
            by=by, reason=reason, report=report, label=_row_label(code, "visit", row["code"]),
            path=f"visits.{order - 1}",
        )
    _report_extra(report, f"{code} visit", study.visit_definitions.exclude(code__in=visit_codes), "code")
    _placements_load(study, data, by=by, reason=reason, report=report)

    criterion_codes = set()
    for order, row in enumerate(data.get("criteria", []), start=1):
        criterion_codes.add(row["code"])
        _upsert(
            EligibilityCriterion, key={"study": study, "code": row["code"]},
            values={
                "kind": row["kind"], "text": " ".join(str(row["text"]).split()),
                "text_zh": " ".join(str(row.get("text_zh") or "").split()), "source": row.get("source") or "",
                "rule_type": row["rule_type"], "params": row.get("params", {}), "order": order,
            },
            by=by, reason=reason, report=report, label=_row_label(code, "criterion", row["code"]),
            path=f"criteria.{order - 1}",
        )
    _report_extra(report, f"{code} criterion", study.criteria.exclude(code__in=criterion_codes), "code")
    if study.status == StudyStatus.ACTIVE:
        version_sync(study, version=str(data["version"]),
                     effective_date=_as_date(data["effective_date"], f"{code} effective_date"),
                     by=by, reason=reason, report=report)
    return study


def _items_load(study: Study, data: dict, *, by, reason: str, report: LoadReport) -> None:
    """The study's data dictionary (`items`), before the criteria that read it."""
    codes = set()
    for order, row in enumerate(data.get("items") or [], start=1):
        codes.add(row["code"])
        _upsert(Item, key={"study": study, "code": row["code"]}, values={**item_values(row), "order": order},
                by=by, reason=reason, report=report, label=_row_label(study.code, "item", row["code"]),
                path=f"items.{order - 1}", names=DOCUMENT_NAMES)
    _report_extra(report, f"{study.code} item", study.items.exclude(code__in=codes), "code")


def _placements_load(study: Study, data: dict, *, by, reason: str, report: LoadReport) -> None:
    """Where each item stands (its `forms`: "screening" or visit codes), once the visits exist."""
    items = {item.code: item for item in study.items.all()}
    visits = {visit.code: visit for visit in study.visit_definitions.all()}
    for index, row in enumerate(data.get("items") or []):
        label = _row_label(study.code, "item", row["code"])
        forms = row.get("forms") or []
        problem = None
        if not isinstance(forms, list) or len(set(map(str, forms))) != len(forms):
            problem = _("forms is a list of distinct forms (screening or visit codes).")
        elif unknown := [str(form) for form in forms if form != SCREENING_FORM and form not in visits]:
            problem = _("no visit %(codes)s (forms are %(screening)s or the study's visit codes).") % {
                "codes": ", ".join(unknown), "screening": SCREENING_FORM}
        if problem:
            raise StudyDefinitionError(_("%(label)s: %(problem)s") % {"label": label, "problem": problem},
                                       {f"items.{index}.forms": [problem]})
        item = items[row["code"]]
        for form in forms:
            visit = None if form == SCREENING_FORM else visits[form]
            _upsert(ItemPlacement, key={"item": item, "visit_definition": visit}, values={}, by=by, reason=reason,
                    report=report, label=_("%(item)s on form %(form)s") % {"item": label, "form": form})
        for placement in item.placements.exclude(visit_definition__code__in=forms).select_related("visit_definition"):
            form = placement.visit_definition.code if placement.visit_definition_id else SCREENING_FORM
            if form not in forms:
                report.not_in_file.append(f"{label} on form {form}")


def studies_load(*, directory: Path = STUDIES_DIR, by=None, only: list[str] | None = None,
                 update: bool = False) -> LoadReport:
    """Load the response criteria sets, the catalogues, sites and every study file of `directory` in one
    transaction.

    Missing rows are created. A row that differs from its file was changed since, by an
    administrator: it is kept and reported, unless `update` asks for the file's values.
    """
    report = LoadReport(update=update)
    criteria_path = directory / RESPONSE_CRITERIA_FILE
    sites_path = directory / SITES_FILE
    catalogues_path = directory / CATALOGUES_FILE
    study_paths = sorted(p for p in directory.glob("*.yaml")
                         if p.name not in (RESPONSE_CRITERIA_FILE, SITES_FILE, CATALOGUES_FILE))
    with transaction.atomic():
        if criteria_path.exists():
            response_criteria_load(_read_yaml(criteria_path), by=by, reason=f"Loaded from {criteria_path.name}",
                                   report=report)
        if catalogues_path.exists():
            try:
                catalogues_load(_read_yaml(catalogues_path), by=by, reason=f"Loaded from {catalogues_path.name}",
                                report=report)
            except (KeyError, TypeError, ValueError) as exc:
                raise StudyDefinitionError(_("%(file)s: a row is incomplete or mis-shaped (%(error)r).") % {
                    "file": catalogues_path.name, "error": exc}) from None
        if sites_path.exists():
            sites_load(_read_yaml(sites_path), by=by, reason=f"Loaded from {sites_path.name}", report=report)
        for path in study_paths:
            data = _read_yaml(path)
            if only and data.get("code") not in only:
                continue
            try:
                study_load(data, by=by, reason=f"Loaded from study definition {path.name}", report=report)
            except KeyError as exc:
                raise StudyDefinitionError(_("%(file)s: required key %(key)s is missing.") % {
                    "file": path.name, "key": exc}) from None
    return report


def definition_files_load(paths: list[Path], *, by=None, update: bool = False) -> LoadReport:
    """Load study definition files (YAML, or JSON as `GET /api/v1/studies/{code}/definition/`
    returns them) in one transaction, as `studies_load` loads the built-in ones: missing rows are
    created, rows that differ are kept and reported unless `update`; a refused file loads nothing.
    Their response criteria sets must exist already."""
    report = LoadReport(update=update)
    with transaction.atomic():
        for path in paths:
            data = _read_yaml(path)
            if not isinstance(data, dict):
                raise StudyDefinitionError(
                    _("%(file)s: not a study definition (a mapping with a code, a title...).") % {"file": path.name})
            try:
                study_load(data, by=by, reason=f"Loaded from study definition {path.name}", report=report)
            except KeyError as exc:
                raise StudyDefinitionError(_("%(file)s: required key %(key)s is missing.") % {
                    "file": path.name, "key": exc}) from None
    return report


def _null_character_paths(value, path: str = "definition") -> list[str]:
    """Where a text (or a key) of the document holds a null character, which no database column stores."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            found += ([f"{path} key"] if "\x00" in str(key) else []) + _null_character_paths(item, f"{path}.{key}")
        return found
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _null_character_paths(item, f"{path}.{index}")]
    return []


def study_create_from_definition(*, data, by, reason: str) -> Study:
    """A new study from a definition document (`GET /studies/{code}/definition/` of another study,
    with another code, or a file): an administrator at every site it names, sites that exist, a
    code no study has (409), and a definition `study_load` accepts (400 naming the place); all in
    one transaction, audited with `reason`. The study is a draft, whatever the status of the study
    it was copied from (a definition carries no status): it records no screening until an
    administrator activates it (`study_activate`)."""
    if not isinstance(data, dict):
        raise ServiceError({"definition": [_("Send a study definition: a mapping with a code, a title, ...")]})
    nulls = _null_character_paths(data)
    if nulls:
        raise ServiceError({"definition": [_("%(paths)s: a text holds a null character.") % {
            "paths": ", ".join(nulls[:5])}]})
    code = str(data.get("code") or "").strip()
    if not code:
        raise ServiceError({"code": [_("Give the new study's code.")]})
    problems = _definition_key_errors({**data, "code": code})
    if problems:
        raise ServiceError({"definition": problems})
    site_codes = [str(row.get("code")) for row in data.get("sites") or [] if isinstance(row, dict)]
    if not site_codes:
        raise ServiceError({"sites": [_("Name at least one site that runs the study.")]})
    sites = {site.code: site for site in Site.objects.filter(code__in=site_codes)}
    unknown = [str(c) for c in site_codes if c not in sites]
    if unknown:
        raise ServiceError({"sites": [_("Unknown site(s) %(codes)s: an administrator adds a site first.") % {
            "codes": ", ".join(unknown)}]})
    allowed = set(site_ids_for(by, Action.CONFIGURE_STUDY))
    if any(site.pk not in allowed for site in sites.values()):
        raise PermissionDenied(_("Only an administrator of every site the study names creates it."))
    with transaction.atomic():
        if Study.objects.select_for_update().filter(code=code).exists():
            raise ConflictError({"code": [_("A study %(code)s exists already: give the copy a code of its own.") % {
                "code": code}]})
        try:
            return study_load({**data, "code": code}, by=by, reason=reason, report=LoadReport(),
                              status=StudyStatus.DRAFT)
        except StudyDefinitionError as exc:
            raise ServiceError(exc.errors or {"definition": [str(exc)]}) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problem = _("%(code)s: the definition is incomplete or mis-shaped (%(problem)s).") % {
                "code": code, "problem": repr(exc)}
            raise ServiceError({"definition": [problem]}) from None


def study_activation_gaps(study: Study) -> Errors:
    """What `study` lacks to be run, by the part of its configuration that lacks it (empty when
    nothing does): a site, a disease with its response criteria, an arm whose infusions are
    scheduled and whose dose levels are set (an arm of cord blood units without dose escalation
    may have none: the unit's cell count is its dose), an eligibility criterion, a visit."""
    gaps = Errors()
    if not study.sites.exists():
        gaps.add("sites", _("No site runs the study: add at least one site."))
    if not study.diseases.exists():
        gaps.add("diseases", _("No disease is admitted: add at least one disease with its response criteria set."))
    arms = list(Arm.objects.filter(study=study).prefetch_related("dose_levels", "infusion_definitions"))
    if not arms:
        gaps.add("arms", _("The study has no arm: add at least one arm with its dose levels and infusions."))
    for arm in arms:
        if not arm.infusion_definitions.all():
            gaps.add("arms", _("Arm %(arm)s has no infusion: add its infusion schedule.") % {"arm": arm.code})
        if not arm.dose_levels.all() and (study.uses_dose_escalation or arm.product_kind != "cord_blood"):
            gaps.add("arms", _("Arm %(arm)s has no dose level: add at least one.") % {"arm": arm.code})
    if not study.criteria.exists():
        gaps.add("criteria", _("The study has no eligibility criterion: add at least one."))
    if not study.visit_definitions.exists():
        gaps.add("visits", _("The study has no visit: add its visit schedule."))
    return gaps


def study_activate(*, study: Study, by, reason: str) -> Study:
    """An administrator at every site of the study activates the draft: from then on it records
    screenings and enrolments. Refused (403) to anyone else; a study already active (409); a study
    that lacks part of its configuration (`study_activation_gaps`: 409, each gap under the part it
    concerns). Without dose escalation no decision ever opens a dose level, so the planned levels
    open with the study; an escalation study's levels stay as they are (signed decisions open them).
    One transaction, the study row locked (as enrolment and level changes lock it), every change
    audited with `reason`."""
    require_study_administrator(study, by, _("Only an administrator of every site of the study activates it."))
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError({"reason": [_("Say why the study is activated (kept in the audit trail).")]})
    if reason_length_error(reason):
        raise ServiceError({"reason": [reason_length_error(reason)]})
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.status != StudyStatus.DRAFT:
            raise ConflictError({"status": [_("Study %(code)s is %(status)s already: only a draft is activated.") % {
                "code": locked.code, "status": locked.get_status_display().lower()}]})
        study_activation_gaps(locked).raise_if_any(ConflictError)
        locked.status = StudyStatus.ACTIVE
        audited_save(locked, by=by, reason=reason)
        version_first(study=locked, by=by, reason=reason)
        if not locked.uses_dose_escalation:
            for level in DoseLevel.objects.filter(arm__study=locked, status=DoseLevelStatus.PLANNED):
                level.status = DoseLevelStatus.OPEN
                audited_save(level, by=by, reason=reason)
    study.status, study.active_version = locked.status, locked.active_version
    return study


def worker_heartbeat_record(*, name: str, hostname: str, now) -> None:
    """Record that a worker is alive (not clinical data: no audit trail)."""
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"hostname": hostname, "last_seen": now})
