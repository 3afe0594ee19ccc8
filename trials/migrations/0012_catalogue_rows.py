"""The catalogue rows of a database that already has studies: the diseases, prior therapies and lab
analytes the product knew as fixed lists, with the codes records store (copied here as they were,
so that this migration never changes). A new database gets them from `load_studies`."""
from django.db import migrations
from django.utils import timezone

DISEASES = [
    ("ITP", "Immune thrombocytopenia", ["platelets"], "IWG2009-ITP"),
    ("AIHA", "Autoimmune haemolytic anaemia", ["red_cells"], "AIHA-INTL"),
    ("PRCA", "Acquired pure red cell aplasia", ["red_cells"], "PRCA-STD"),
    ("EVANS", "Evans syndrome", ["platelets", "red_cells"], "MULTILINEAGE"),
    ("SECONDARY_CYTOPENIA", "Cytopenia secondary to an autoimmune disease", [], "MULTILINEAGE"),
]
THERAPIES = [
    ("glucocorticoid", "Glucocorticoid", "corticosteroid"),
    ("cyclosporine", "Cyclosporine", "immunosuppressant"),
    ("ivig", "IVIG", "immunoglobulin"),
    ("tpo_agent", "Thrombopoietic agent (TPO-RA, rhTPO)", "thrombopoietic agent"),
    ("rituximab", "Rituximab", "anti-CD20 antibody"),
    ("splenectomy", "Splenectomy", "surgery"),
    ("azathioprine", "Azathioprine", "immunosuppressant"),
    ("danazol", "Danazol", "androgen"),
    ("mycophenolate", "Mycophenolate mofetil", "immunosuppressant"),
    ("other", "Other", "other"),
]
PER_UL = {"/uL": 0.001, "10^3/uL": 1.0}
ANALYTES = [
    ("HGB", "Haemoglobin", "g/L", {"g/dL": 10.0}, 20.0, 250.0),
    ("PLT", "Platelets", "10^9/L", PER_UL, 0.0, 2000.0),
    ("ANC", "Neutrophils", "10^9/L", PER_UL, 0.0, 100.0),
    ("WBC", "White blood cells", "10^9/L", PER_UL, 0.0, 500.0),
    ("LYM", "Lymphocytes", "10^9/L", PER_UL, 0.0, 500.0),
    ("RETIC_PCT", "Reticulocytes (%)", "%", {}, 0.0, 100.0),
    ("RETIC_ABS", "Reticulocytes (absolute)", "10^9/L", {"/uL": 0.001}, 0.0, 1000.0),
    ("ALT", "ALT", "U/L", {}, 0.0, 10000.0),
    ("AST", "AST", "U/L", {}, 0.0, 10000.0),
    ("LDH", "LDH", "U/L", {}, 0.0, 20000.0),
    ("TBIL", "Total bilirubin", "umol/L", {"mg/dL": 17.1}, 0.0, 1000.0),
    ("CREAT", "Creatinine", "umol/L", {"mg/dL": 88.4}, 0.0, 3000.0),
    ("HAPTO", "Haptoglobin", "g/L", {"mg/dL": 0.01}, 0.0, 10.0),
]
REASON = "Catalogue created from the product's former fixed lists"
ADMIN_GROUP = "Study administrators"
CATALOGUE_MODELS = {"disease": "disease", "therapy": "prior therapy", "analyte": "lab analyte",
                    "analyteunit": "accepted unit", "analytereferencerange": "default reference range"}


def create_catalogue_rows(apps, schema_editor):
    if not apps.get_model("trials", "Study").objects.exists():
        return
    Disease, Therapy = apps.get_model("trials", "Disease"), apps.get_model("trials", "Therapy")
    Analyte, AnalyteUnit = apps.get_model("trials", "Analyte"), apps.get_model("trials", "AnalyteUnit")
    criteria = {c.code: c for c in apps.get_model("trials", "ResponseCriteriaSet").objects.all()}
    history = {model: apps.get_model("trials", f"Historical{model.__name__}")
               for model in (Disease, Therapy, Analyte, AnalyteUnit)}

    def create(model, **values):
        row = model.objects.create(**values)
        fields = {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}
        history[model].objects.create(**fields, history_type="+", history_change_reason=REASON,
                                      history_date=timezone.now())
        return row

    for order, (code, name, lineages, criteria_code) in enumerate(DISEASES, start=1):
        if not Disease.objects.filter(code=code).exists():
            create(Disease, code=code, name=name, lineages=lineages, response_criteria=criteria.get(criteria_code),
                   order=order)
    for order, (code, name, therapy_class) in enumerate(THERAPIES, start=1):
        if not Therapy.objects.filter(code=code).exists():
            create(Therapy, code=code, name=name, therapy_class=therapy_class, order=order)
    for order, (code, name, si_unit, units, low, high) in enumerate(ANALYTES, start=1):
        if Analyte.objects.filter(code=code).exists():
            continue
        analyte = create(Analyte, code=code, name=name, si_unit=si_unit, plausible_low=low, plausible_high=high,
                         order=order)
        for unit, factor in units.items():
            create(AnalyteUnit, analyte=analyte, unit=unit, factor=factor)


def grant_administrators(apps, schema_editor):
    """The existing administrators edit the catalogues too (a new database grants it when the
    first administrator is added, `trials.accounts.administrators_group`)."""
    group = apps.get_model("auth", "Group").objects.filter(name=ADMIN_GROUP).first()
    if group is None:
        return
    ContentType, Permission = apps.get_model("contenttypes", "ContentType"), apps.get_model("auth", "Permission")
    for model, name in CATALOGUE_MODELS.items():
        content_type, _ = ContentType.objects.get_or_create(app_label="trials", model=model)
        for action in ("add", "change", "delete", "view"):
            permission, _ = Permission.objects.get_or_create(
                content_type=content_type, codename=f"{action}_{model}", defaults={"name": f"Can {action} {name}"})
            group.permissions.add(permission)


class Migration(migrations.Migration):

    dependencies = [
        ("trials", "0011_catalogues"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_catalogue_rows, migrations.RunPython.noop),
        migrations.RunPython(grant_administrators, migrations.RunPython.noop),
    ]
