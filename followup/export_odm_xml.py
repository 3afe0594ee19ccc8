"""How the ODM export writes text: a stored value in ODM's formats (`odm_value`), attributes and
texts escaped, and `_Xml`, the writer of elements as text pieces encoded in blocks."""
from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone


def odm_value(value, datatype: str) -> str | None:
    """A stored value as ODM text; None for an empty value (nothing is written)."""
    kind = type(value)  # the common cases first: a text, an integer, a date
    if kind is str:
        return (value if datatype != "boolean" else "true") if value else None
    if value is None:
        return None
    if datatype != "boolean":
        if kind is int:
            return str(value)
        if kind is date:
            return value.isoformat()
        if kind is float:
            if not math.isfinite(value):
                return None
            return str(int(value)) if datatype == "integer" and value.is_integer() else repr(value)
    if value == "" or value == [] or value == {}:
        return None
    if datatype == "boolean" or isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return str(int(value)) if datatype == "integer" and value.is_integer() else repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return str(value)


_ATTRIBUTE = re.compile(r'[&<>"\n\r\t]')
_TEXT = re.compile(r"[&<>]")
_ATTRIBUTE_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;",
                       "\t": "&#9;"}
_TEXT_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
FLUSH_PARTS = 5000  # pieces of text gathered before they are encoded and written (an item group is one)


_UNSET = object()
_SAME_TEXT = frozenset((str, int, bool, float, date))  # equal values of these types are the same ODM text


def _same_text(value, other) -> bool:
    """Whether `odm_value` words `value` as it words `other` because they are equal (a float zero is
    not taken for another: -0.0 == 0.0)."""
    kind = type(value)
    return kind is type(other) and kind in _SAME_TEXT and value == other and (kind is not float or bool(value))


def attribute(value) -> str:
    """A value in double quotes, escaped for an attribute."""
    value = str(value)
    if _ATTRIBUTE.search(value):
        value = _ATTRIBUTE.sub(lambda m: _ATTRIBUTE_ENTITIES[m.group()], value)
    return f'"{value}"'


_CONTENT = re.compile(r"[&<>\r]")
_CONTENT_ENTITIES = {**_TEXT_ENTITIES, "\r": "&#13;"}


def content_escaped(value: str) -> str:
    """An item's value escaped as an element's text: a carriage return kept as a reference (an XML
    reader would turn it into a line feed), other white space as it is."""
    return _CONTENT.sub(lambda m: _CONTENT_ENTITIES[m.group()], value)


def text_escaped(value) -> str:
    value = str(value)
    return _TEXT.sub(lambda m: _TEXT_ENTITIES[m.group()], value) if _TEXT.search(value) else value


class _Xml:
    """Start/end/leaf elements written as text (what `XMLGenerator` writes, in far fewer calls),
    attributes with None left out; an element without content is closed as an empty element.
    The pieces are gathered and written to the binary file `out` in UTF-8 by the thousands."""

    def __init__(self, out):
        self.out, self.parts, self.pending = out, [], False

    def document(self) -> None:
        self.parts.append('<?xml version="1.0" encoding="utf-8"?>\n')

    def start(self, name, **attrs):
        if self.pending:
            self.parts.append(">")
        self.parts.append(f"<{name}" + "".join(f" {k}={attribute(v)}" for k, v in attrs.items() if v is not None))
        self.pending = True

    def end(self, name):
        if self.pending:
            self.parts.append("/>")
            self.pending = False
        else:
            self.parts.append(f"</{name}>")
        if len(self.parts) > FLUSH_PARTS:
            self.flush()

    def leaf(self, name, text=None, **attrs):
        self.start(name, **attrs)
        if text is not None:
            self.pending = False
            self.parts.append(f">{text_escaped(text)}</{name}>")
        else:
            self.end(name)

    def raw(self, text: str) -> None:
        """Well-formed XML text written as it is (after the pending start tag is closed)."""
        if self.pending:
            self.parts.append(">")
            self.pending = False
        self.parts.append(text)

    def translated(self, name, text):
        self.start(name)
        self.leaf("TranslatedText", text, **{"xml:lang": "en"})
        self.end(name)

    def flush(self) -> None:
        self.out.write("".join(self.parts).encode("utf-8", "xmlcharrefreplace"))
        self.parts.clear()


class _Text(_Xml):
    """An `_Xml` that keeps its text until taken (`take`) instead of writing it to a file."""

    def __init__(self):
        super().__init__(None)

    def flush(self) -> None:
        pass

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text
