"""The Chinese interface's catalogue (locale/zh_Hans): complete, current with the code, compiled
without GNU gettext, and served to a browser that asks for Chinese."""
import gettext
import json
import re
import shutil
from pathlib import Path

import django.contrib.admin
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from trials.tests.support import require_service
from trials.translations import placeholders, read_po, write_mo

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
# What makemessages does not read: installs, tests, benchmarks, collected static files.
NOT_SOURCES = [".venv", ".venv-*", "bench", "tests", "conftest.py", "staticfiles", "node_modules", "tmp"]
NOT_COPIED = shutil.ignore_patterns(".git", ".venv*", "staticfiles", "node_modules", "__pycache__", "*.sqlite3",
                                    ".pytest_cache", ".hypothesis", "tmp", "*.mo")


def _messages():
    return [entry for entry in read_po(CATALOGUE) if entry.msgid]


def test_every_message_has_its_chinese_text():
    untranslated = [entry.msgid for entry in _messages() if not entry.translated or "fuzzy" in entry.flags]
    assert untranslated == []


def test_translations_keep_every_placeholder():
    """A translation that drops or renames `%(name)s` would fail or mislead at run time."""
    wrong = []
    for entry in _messages():
        if "python-format" not in entry.flags and "python-brace-format" not in entry.flags:
            continue
        for index, text in entry.msgstr.items():
            source = entry.msgid if index == 0 or entry.msgid_plural is None else entry.msgid_plural
            if text and set(placeholders(text)) != set(placeholders(source)):
                wrong.append((entry.msgid, text))
    assert wrong == []


def test_the_catalogue_holds_every_string_marked_in_the_code(tmp_path, monkeypatch):
    """Every string marked for translation in a template or Python module is in the catalogue (and
    nothing the code no longer has): gathered again with makemessages into a scratch folder."""
    require_service(shutil.which("xgettext") is not None, "GNU gettext's xgettext (apt-get install gettext)")
    copy = tmp_path / "sources"
    shutil.copytree(settings.BASE_DIR, copy, ignore=NOT_COPIED)
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        call_command("makemessages", locale=["zh_Hans"], ignore_patterns=NOT_SOURCES, verbosity=0, no_obsolete=True)
    gathered = {entry.key for entry in read_po(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
                if entry.msgid}
    held = {entry.key for entry in _messages()}
    assert sorted(gathered - held) == [], "marked in the code, missing from the catalogue: run makemessages"
    assert sorted(held - gathered) == [], "in the catalogue, no longer in the code: run makemessages --no-obsolete"


def test_the_compiled_catalogue_reads_as_gnu_gettext_reads_it(tmp_path):
    entries = read_po(CATALOGUE)
    count = write_mo(entries, tmp_path / "django.mo")
    with (tmp_path / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    assert count == len([entry for entry in entries if entry.translated or not entry.msgid])
    assert catalogue.gettext("Screening log") == "筛选日志"
    plural = next(entry for entry in entries if entry.msgid_plural)
    assert catalogue.ngettext(plural.msgid, plural.msgid_plural, 3) == plural.msgstr[0]
    assert catalogue.info()["plural-forms"] == "nplurals=1; plural=0;"


@pytest.mark.parametrize("entry, problem", [
    ('msgid "a"\nmsgstr "b\\"\n', "malformed"),
    ('msgid "a"\nmsgstrr "b"\n', "not a catalogue line"),
    ('"b"\n', "continues nothing"),
])
def test_a_broken_catalogue_is_refused_naming_its_line(tmp_path, entry, problem):
    path = tmp_path / "django.po"
    path.write_text(entry, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        read_po(path)


def test_a_browser_asking_for_chinese_gets_the_sign_in_page_in_chinese(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    text = page.content.decode()
    assert page.status_code == 200 and 'lang="zh-hans"' in text
    assert "登录" in text and "Sign in" not in text


def test_an_api_error_speaks_the_callers_language(api, studies):
    response = api.post("/api/v1/studies/MSC-ITP-5/screenings/", {"weight_kg": -70}, format="json",
                        HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    messages = [message for texts in response.json()["errors"].values() for message in texts]
    assert messages and all(not message.isascii() for message in messages), messages


def test_the_administrations_scripts_speak_chinese(admin_client):
    """The two-list selector of many-to-many fields (a study's sites) asks every text of Django's
    script from the admin's JavaScript catalogue: each is Chinese, those Django's own zh_Hans
    catalogue lacks from our `djangojs.po`."""
    script = Path(django.contrib.admin.__file__).parent / "static" / "admin" / "js" / "SelectFilter2.js"
    asked = {text for _quote, text in re.findall(r"""gettext\((['"])(.*?)\1\)""", script.read_text())}
    asked = {text.replace('\\"', '"') for text in asked}
    page = admin_client.get("/admin/jsi18n/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    catalogue = json.loads(re.search(r"const newcatalog = (\{.*?\});", page.content.decode(), re.S).group(1))
    assert asked and sorted(text for text in asked if text not in catalogue) == []
    assert all(not str(catalogue[text]).isascii() for text in asked)
