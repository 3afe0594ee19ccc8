import re

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from trials import catalogues
from trials.audit_labels import value_attributes
from trials.audit_reasons import reason_shown
from trials.rule_text import describe_rule_html

register = template.Library()


@register.simple_tag(takes_context=True)
def rule_text(context, criterion) -> str:
    """A criterion's rule in the reader's words, the study's codes in it marked in the study's language."""
    catalogue = catalogues.current()
    return describe_rule_html(criterion.rule_type, criterion.params, catalogue.analytes,
                              language=context.get("content_language") or "en", diseases=catalogue.diseases)


_PROTOCOL_PART = re.compile(r"^(?:PROTOCOLS\.md\s+P\d+\s+)?(inclusion|exclusion|diseases|title)\s*(\d+)?(.*)$", re.S)
_RULES_PART = re.compile(r"^CLINICAL_RULES\.md(?:\s+sections?\s+[\d\-, and]+)?\.?(.*)$", re.S)


@register.filter
def plain_source(source) -> str:
    """Where a criterion or a set of response criteria comes from, in words a user reads: the
    study files' references ("PROTOCOLS.md P3 inclusion 2", "CLINICAL_RULES.md section 1")
    become "inclusion criterion 2 of the protocol", "the study's clinical rules"; a publication
    is shown as written."""
    source = str(source or "")
    if ".md" not in source:
        return source
    parts = []
    for part in source.split(";"):
        part = part.strip()
        protocol, rules = _PROTOCOL_PART.match(part), _RULES_PART.match(part)
        if part.startswith("CLINICAL_RULES") and rules:
            rest = rules.group(1).strip().rstrip(".")
            parts.append(_("the study's clinical rules") + (f" {rest}" if rest else ""))
        elif (part.startswith("PROTOCOLS") or parts) and protocol:
            kind, number, rest = protocol.groups()
            words = {
                "inclusion": _("inclusion criterion %(n)s of the protocol"),
                "exclusion": _("exclusion criterion %(n)s of the protocol"),
                "diseases": _("the diseases of the protocol"), "title": _("the title of the protocol"),
            }[kind]
            parts.append((words % {"n": number or ""}).replace("  ", " ") + rest)
        elif part:
            parts.append(part.replace("PROTOCOLS.md", _("the protocol")).replace("CLINICAL_RULES.md",
                                                                                 _("the study's clinical rules")))
    return "; ".join(parts)


@register.filter
def disease_name(code) -> str:
    """The catalogue's name of a disease code (the code itself if the catalogue has none)."""
    return catalogues.current().disease_name(code)


@register.filter
def therapy_name(code) -> str:
    """The catalogue's name of a prior-therapy code (the code itself if the catalogue has none)."""
    return catalogues.current().therapy_name(code)


@register.filter
def cells(value) -> str:
    """1.0e8 -> "1 x10^8"; the way doses are written in protocols."""
    if value is None:
        return ""
    mantissa, exponent = f"{float(value):e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa} x10^{int(exponent)}"


_LOADED_FROM = re.compile(r"Loaded from study definition (?P<file>[\w.-]+?)(?:\.ya?ml)?")


@register.filter
def stored_reason(reason) -> str:
    """A change's reason as stored: the reason the study loader writes ("Loaded from study
    definition MSC-ITP-5.yaml") in the reader's language, a reason a person wrote as written."""
    reason = str(reason or "")
    match = _LOADED_FROM.fullmatch(reason)
    if match:
        return _("Loaded from the study definition %(study)s") % {"study": match["file"]}
    return reason


@register.simple_tag
def audit_value(value) -> str:
    """`{% audit_value change.new %}`: a value of the audit trail, marked as a page marks it
    (`trials.audit_labels.value_attributes`: what a person typed, a study's text); "—" for none."""
    if value is None:
        return "—"
    attributes = value_attributes(value)
    if not attributes:
        return conditional_escape(value)
    return format_html("<span {}>{}</span>", mark_safe(attributes), value)  # noqa: S308 (our own attributes)


@register.simple_tag
def audit_reason(reason) -> str:
    """`{% audit_reason entry.reason %}`: a change's reason, the product's own in the reader's
    language (`trials.audit_reasons`), what a person typed as written and marked so; "—" for none."""
    loaded = stored_reason(reason)
    if loaded != str(reason or ""):
        return conditional_escape(loaded)
    shown = reason_shown(reason)
    if not shown.text:
        return "—"
    if shown.parts:
        return mark_safe("".join(  # noqa: S308 (each part escaped)
            format_html("<span data-entered>{}</span>", text) if entered else conditional_escape(text)
            for text, entered in shown.parts))
    if shown.entered:
        return format_html("<span data-entered>{}</span>", shown.text)
    return conditional_escape(shown.text)
