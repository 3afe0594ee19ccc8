"""What a web process loads before its first request (`config/wsgi.py`): the URL patterns with every
view and every module they import (the API's serializers and schema, the statistics' scipy), and every
HTML template of the project and its apps compiled (about 0.5 s). Loaded on the first requests
instead, they slowed those requests down and left some 80,000 long-lived objects that `gc.freeze` had
not moved out of the cycle collector's reach, which every full collection afterwards scanned."""
from __future__ import annotations

from pathlib import Path

from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
from django.template.backends.django import DjangoTemplates
from django.template.utils import get_app_template_dirs
from django.urls import URLResolver, get_resolver


def _patterns(resolver: URLResolver) -> int:
    """The resolver's patterns and those of every resolver it includes (imported as they are read)."""
    count = 0
    for pattern in resolver.url_patterns:
        count += _patterns(pattern) if isinstance(pattern, URLResolver) else 1
    return count


def _template_names(engine: DjangoTemplates) -> set[str]:
    directories = [Path(d) for d in engine.engine.dirs]
    if engine.engine.app_dirs:
        directories += [Path(d) for d in get_app_template_dirs("templates")]
    return {path.relative_to(directory).as_posix() for directory in directories if directory.is_dir()
            for path in directory.rglob("*.html")}


def warm() -> tuple[int, int]:
    """Load the URL patterns and compile the HTML templates; (patterns, templates compiled). A template
    that does not compile is left to fail where it is used, as it would have."""
    patterns = _patterns(get_resolver())
    compiled = 0
    for engine in engines.all():
        if not isinstance(engine, DjangoTemplates):
            continue
        for name in sorted(_template_names(engine)):
            try:
                engine.get_template(name)
            except (TemplateDoesNotExist, TemplateSyntaxError):
                continue
            compiled += 1
    return patterns, compiled
