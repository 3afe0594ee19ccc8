"""The translation catalogues (`locale/<language>/LC_MESSAGES/django.po`) read and compiled without
GNU gettext, so that a fresh machine or a deployment's install needs no system package to serve the
interface in Chinese: `manage.py compile_translations` writes each catalogue's `django.mo`.

A catalogue entry is read as gettext does: `msgctxt`, `msgid`, `msgid_plural`, `msgstr` or
`msgstr[n]`, each a C string continued on following lines; an entry marked `fuzzy` is not used, nor
an obsolete one (`#~`). The `.mo` file is written in the GNU format that Python's `gettext` reads.
"""
from __future__ import annotations

import ast
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")
_FORMAT = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[sdifFeEgGxXor%]|%[sdif]|\{(\w*)\}")
_MAGIC = 0x950412DE


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)

    @property
    def translated(self) -> bool:
        """Translated: its text, or for a plural message its first form (Chinese has one form)."""
        return bool(self.msgstr.get(0, "").strip())

    @property
    def key(self) -> str:
        """The key of the entry in a compiled catalogue."""
        key = self.msgid if self.msgid_plural is None else f"{self.msgid}\x00{self.msgid_plural}"
        return key if self.msgctxt is None else f"{self.msgctxt}\x04{key}"


def read_po(path: Path) -> list[Entry]:
    """The entries of a catalogue, the header (msgid "") first, in the file's order."""
    entries: list[Entry] = []
    entry, target = Entry(), None
    started = False

    def finish():
        nonlocal entry, started
        if started:
            entries.append(entry)
        entry, started = Entry(), False

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#"):
            if started and target is not None and target[0] == "msgstr":
                finish()
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#:"):
                entry.references.extend(line[2:].split())
            continue
        if line.startswith('"'):
            if target is None:
                raise ValueError(f"{path}:{number}: a string continues nothing")
            _append(entry, target, _unquote(line, path, number))
            continue
        match = _KEYWORD.match(line)
        if match is None:
            raise ValueError(f"{path}:{number}: not a catalogue line: {line[:60]}")
        keyword, index, text = match.group(1), match.group(2), _unquote(match.group(3), path, number)
        if keyword in ("msgctxt", "msgid") and started and target is not None and target[0] == "msgstr":
            finish()
        started = True
        if keyword.startswith("msgstr"):
            target = ("msgstr", int(index) if index is not None else 0)
            entry.msgstr[target[1]] = text
        else:
            target = (keyword, None)
            setattr(entry, keyword, text)
    finish()
    return entries


def _unquote(text: str, path: Path, number: int) -> str:
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError) as error:
        raise ValueError(f"{path}:{number}: a malformed string") from error
    if not isinstance(value, str):
        raise ValueError(f"{path}:{number}: a malformed string")
    return value


def _append(entry: Entry, target: tuple[str, int | None], text: str) -> None:
    name, index = target
    if name == "msgstr":
        entry.msgstr[index] += text
    else:
        setattr(entry, name, (getattr(entry, name) or "") + text)


def placeholders(text: str) -> list[str]:
    """The format placeholders of a message (`%(name)s`, `%s`, `{name}`), sorted; `%%` is none."""
    return sorted(match.group(0) for match in _FORMAT.finditer(text) if match.group(0) != "%%")


def write_mo(entries: list[Entry], path: Path) -> int:
    """Compile the translated, non-fuzzy entries (and the header) into `path`; the number written."""
    pairs = {}
    for entry in entries:
        if entry.msgid == "" and entry.msgctxt is None:
            pairs[""] = entry.msgstr.get(0, "")
        elif entry.translated and "fuzzy" not in entry.flags:
            texts = [entry.msgstr[index] for index in sorted(entry.msgstr) if entry.msgstr[index]]
            pairs[entry.key] = "\x00".join(texts) if entry.msgid_plural is not None else texts[0]
    keys = sorted(pairs, key=lambda key: key.encode("utf-8"))
    ids = [key.encode("utf-8") for key in keys]
    strs = [pairs[key].encode("utf-8") for key in keys]
    count = len(keys)
    header_size = 7 * 4
    ids_start = header_size + 2 * 8 * count
    offsets, data = [], b""
    for blob in ids:
        offsets.append((len(blob), ids_start + len(data)))
        data += blob + b"\x00"
    str_offsets = []
    for blob in strs:
        str_offsets.append((len(blob), ids_start + len(data)))
        data += blob + b"\x00"
    output = struct.pack("<7I", _MAGIC, 0, count, header_size, header_size + 8 * count, 0, 0)
    for length, offset in offsets:
        output += struct.pack("<2I", length, offset)
    for length, offset in str_offsets:
        output += struct.pack("<2I", length, offset)
    path.write_bytes(output + data)
    return count


def catalogues(base: Path) -> list[Path]:
    """Every catalogue under the locale folder `base`: the interface's (`django.po`) and its scripts'
    (`djangojs.po`, the administration's JavaScript texts Django's own catalogue lacks)."""
    return sorted(path for domain in ("django", "djangojs") for path in base.glob(f"*/LC_MESSAGES/{domain}.po"))
