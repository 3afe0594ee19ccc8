"""A page's form as the browser sends it back: read from the rendered HTML (not from the view's
context), so that a test posts what a user who opened the page would post, hidden version
included."""
from html.parser import HTMLParser


class _Forms(HTMLParser):
    """The fields of every <form> of a page, in order: a list of (name, value) pairs as submitted
    (disabled fields and unticked boxes left out; a single select with nothing selected sends its
    first option)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self._form: list | None = None
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = []
            self.forms.append(self._form)
        if self._form is None:
            return
        disabled = "disabled" in attrs
        if tag == "input" and attrs.get("name") and not disabled:
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self._form.append((attrs["name"], attrs.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = {"name": attrs["name"], "text": "", "disabled": disabled}
        elif tag == "select" and attrs.get("name"):
            self._select = {"name": attrs["name"], "multiple": "multiple" in attrs, "disabled": disabled,
                            "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": attrs.get("value"), "text": "", "selected": "selected" in attrs}
            self._select["options"].append(self._option)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["text"] += data
        elif self._option is not None:
            self._option["text"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None:
            if not self._textarea["disabled"] and self._form is not None:
                # The browser drops the one newline that follows <textarea>.
                self._form.append((self._textarea["name"], self._textarea["text"].removeprefix("\n")))
            self._textarea = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            select, self._select = self._select, None
            if select["disabled"] or self._form is None:
                return
            values = [o["value"] if o["value"] is not None else o["text"] for o in select["options"]]
            chosen = [v for o, v in zip(select["options"], values, strict=True) if o["selected"]]
            if not chosen and not select["multiple"] and values:
                chosen = values[:1]
            self._form.extend((select["name"], value) for value in chosen)


def rendered_form(html: str, having: str = "version") -> dict:
    """The form of `html` that has a field named `having`, as the browser posts it: name -> value
    (a list where the name repeats, as a multiple choice)."""
    parser = _Forms()
    parser.feed(html)
    for fields in parser.forms:
        if any(name == having for name, _value in fields):
            data: dict = {}
            for name, value in fields:
                if name in data:
                    data[name] = [*data[name], value] if isinstance(data[name], list) else [data[name], value]
                else:
                    data[name] = value
            return data
    raise AssertionError(f"No form with a field {having!r} on the page.")


def conflict_box(html: str) -> str:
    """The text of the page's conflict box (trials/_conflict.html), "" when it has none."""
    if 'data-testid="edit-conflict"' not in html:
        return ""
    return html.split('data-testid="edit-conflict"', 1)[1].split("</div>", 1)[0]
