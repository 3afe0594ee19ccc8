"""Study content in the reader's language (`trials.content`).

    {% load content_tags %}
    <p {% content_lang study "title" %}>{{ study|content:"title" }}</p>
    <td {% lang_of label %}>{{ label }}</td>   {# a text `trials.content` chose: it knows its language #}

`content_lang` and `lang_of` write `lang="zh-Hans"` or `lang="en"` (a Chinese page that falls back
on the English text) and `data-study-content`, which marks the element as the study's own text.
"""
from django import template
from django.utils.html import format_html

from trials.content import content as content_of
from trials.content import content_language, language_of

register = template.Library()


def _attributes(language: str) -> str:
    return format_html('lang="{}" data-study-content', language)


@register.filter
def content(obj, field: str) -> str:
    """`{{ obj|content:"title" }}`: `obj.title_zh` for a Chinese reader when it is not empty, else `obj.title`."""
    return content_of(obj, field) if obj is not None else ""


@register.simple_tag
def content_lang(obj, field: str) -> str:
    """`{% content_lang obj "title" %}`: the lang attribute of the text `content` shows."""
    return _attributes(content_language(obj, field) if obj is not None else "en")


@register.simple_tag
def lang_of(text) -> str:
    """`{% lang_of text %}`: the lang attribute of a text `trials.content` chose."""
    return _attributes(language_of(text))
