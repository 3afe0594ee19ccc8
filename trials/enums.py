"""Fixed vocabularies of study configuration (API.md "Codes")."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Coordinator")
    INVESTIGATOR = "investigator", _("Investigator")
    MONITOR = "monitor", _("Monitor")
    DATA_MANAGER = "data_manager", _("Data manager")
    ADMIN = "admin", _("Administrator")


class StudyStatus(models.TextChoices):
    """A draft is being configured and records no screening; an administrator activates it."""

    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")


class ResponseFamily(models.TextChoices):
    """Which response engine a criteria set parameterises (CLINICAL_RULES.md sections 1-2)."""

    ITP = "itp", _("Immune thrombocytopenia (platelets)")
    AIHA = "aiha", _("Autoimmune haemolytic anaemia (haemoglobin, haemolysis)")
    PRCA = "prca", _("Pure red cell aplasia (haemoglobin, transfusion independence)")
    NEUTROPENIA = "neutropenia", _("Neutropenia (neutrophils)")
    MULTILINEAGE = "multilineage", _("Several lineages (Evans syndrome, secondary cytopenia)")


class DoseBasis(models.TextChoices):
    PER_KG = "per_kg", _("Per kilogram of body weight")
    FLAT = "flat", _("Flat dose")


class DoseLevelStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class InfusionAnchor(models.TextChoices):
    DAY_0 = "day0", _("Day 0 (first infusion day)")
    PREVIOUS_ACTUAL = "previous_actual", _("Previous infusion, as actually given")


class MissedInfusionRule(models.TextChoices):
    LAST_GIVEN = "last_given", _("Later infusions stay anchored on the last infusion given")
    PLANNED_DATE = "planned_date", _("Later infusions anchor on the missed infusion's planned date")


class VisitAnchor(models.TextChoices):
    ENROLMENT = "enrolment", _("Enrolment")
    FIRST_INFUSION = "first_infusion", _("First infusion")
    LAST_INFUSION = "last_infusion", _("Last infusion")


class TimeUnit(models.TextChoices):
    DAYS = "days", _("days")
    HOURS = "hours", _("hours")
    MINUTES = "minutes", _("minutes")


class SexRestriction(models.TextChoices):
    ANY = "any", _("All participants")
    FEMALE = "female", _("Female participants only")
    MALE = "male", _("Male participants only")


class CriterionKind(models.TextChoices):
    INCLUSION = "inclusion", _("Inclusion")
    EXCLUSION = "exclusion", _("Exclusion")


class Assessment(models.TextChoices):
    """What may be expected at a visit; each becomes a section of the visit's form."""

    PLATELETS = "platelets", _("Platelet count")
    BLOOD_COUNT = "blood_count", _("Full blood count")
    HAEMOLYSIS = "haemolysis", _("Haemolysis markers (LDH, bilirubin, reticulocytes, haptoglobin)")
    LIVER = "liver", _("Liver function (ALT, AST, bilirubin)")
    RENAL = "renal", _("Renal function (creatinine)")
    BLEEDING = "bleeding", _("WHO bleeding grade")
    TRANSFUSIONS = "transfusions", _("Transfusions and rescue therapy")
    ADVERSE_EVENTS = "adverse_events", _("Adverse events")
    VIROLOGY = "virology", _("Virology (HBV, HCV, HIV, syphilis)")
    IMMUNE_FUNCTION = "immune_function", _("Immune function (Th17, Tfh, Treg, regulatory B, NK)")
    CYTOKINES = "cytokines", _("Cytokines")
    CELL_CONCENTRATION = "cell_concentration", _("hUC-MSC concentration in peripheral blood")
    ANTI_MSC_ANTIBODY = "anti_msc_antibody", _("Anti-hUC-MSC antibodies")
    PREGNANCY_TEST = "pregnancy_test", _("Pregnancy test")
    VITAL_SIGNS = "vital_signs", _("Vital signs")
