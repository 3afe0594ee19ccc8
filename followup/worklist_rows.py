"""The worklist page's rows written as HTML here, shown as they are by `templates/followup/worklist.html`:
the same markup the template's tags wrote, escaped the same way, for a fraction of their time (a page
shows 100 items, each of a dozen values)."""
from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .worklist import WorkItem
from .worklist_reads import url_template

_ROW = ('\n  <tr data-kind="{kind}" data-status="{status}"{danger}>\n    <td>{badge}</td>\n'
        '    <td class="text-nowrap">{due}</td>\n'
        '    <td class="text-nowrap small">{window}</td>\n'
        '    <td>{kind_label}</td>\n'
        '    <td><a href="{url}" data-testid="worklist-act">{label}</a></td>\n'
        '    <td class="text-nowrap"><a href="{participant_url}">{number}</a></td>\n'
        '    <td class="text-nowrap">{study}</td><td>{site}</td>\n  </tr>\n  ')


class RowWriter:
    """Writes the rows of one page: the badges and the participant pages' address made once."""

    def __init__(self):
        overdue, due = escape(_("overdue")), escape(_("due"))  # outside the f-strings: gathered by makemessages
        self.badges = {True: f'<span class="badge text-bg-danger">{overdue}</span>',
                       False: f'<span class="badge text-bg-primary">{due}</span>'}
        self.participant_page = url_template("participant-detail")

    def html(self, item: WorkItem, *, due: str, window: str, kind_label: str, url: str) -> SafeString:
        """The row of `item` with its dates (`due`, `window`), kind and the address to act on."""
        overdue = item.overdue
        participant_url = (item.url if item.participant_id is None
                           else self.participant_page.format(item.participant_id))
        return mark_safe(_ROW.format(
            kind=escape(item.kind), status=escape(item.status), danger=' class="table-danger"' if overdue else "",
            badge=self.badges[overdue], due=escape(due), window=escape(window), kind_label=escape(kind_label),
            url=escape(url), label=escape(item.label), participant_url=escape(participant_url),
            number=escape(item.study_number), study=escape(item.study), site=escape(item.site)))
