"""The study's items on visit forms (`trials.items`): which items an assessment takes, and how its
answers read.

Pure: the placements come from `followup.selectors.visit_form_items` (one query). A visit's
assessment takes the items placed on its visit definition's form; an unscheduled assessment (no
visit) takes any item of the study's visit forms.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from trials import items as item_rules
from trials.items import ItemSpec

Placed = list[tuple[str, ItemSpec]]  # (section, item) in the form's order


@dataclass(frozen=True)
class VisitForms:
    """The items of each visit definition's form of one study, by visit definition id, in the order
    of the visits and, within a form, of the placements."""

    by_definition: Mapping[int, tuple[tuple[str, ItemSpec], ...]] = field(default_factory=dict)

    def placed(self, definition_id: int | None) -> Placed:
        """The items an assessment of that visit definition takes; with no visit (unscheduled), every
        item of the study's visit forms, each once, in the section of its first form."""
        if definition_id is not None:
            return list(self.by_definition.get(definition_id, ()))
        seen: set[str] = set()
        placed = []
        for rows in self.by_definition.values():
            for section, spec in rows:
                if spec.code not in seen:
                    seen.add(spec.code)
                    placed.append((section, spec))
        return placed

    def specs(self, definition_id: int | None) -> dict[str, ItemSpec]:
        return {spec.code: spec for _section, spec in self.placed(definition_id)}

    def answered_sections(self, definition_id: int | None, values: Mapping) -> list[tuple[str, list]]:
        """The recorded answers by section for reading (`trials.items.item_sections`, answered items
        only): those of the visit's form first, then answers to items of the study's other visit
        forms (an assessment moved to another visit keeps them), then any answer no form places,
        under its code, as recorded."""
        if not values:
            return []
        placed = [(section, spec) for section, spec in self.placed(definition_id) if values.get(spec.code) is not None]
        shown = {spec.code for _section, spec in placed}
        for section, spec in self.placed(None):
            if spec.code not in shown and values.get(spec.code) is not None:
                placed.append((section, spec))
                shown.add(spec.code)
        placed += [("", ItemSpec(code=code, label=code, type=item_rules.TEXT)) for code, value in values.items()
                   if code not in shown and value is not None]
        return item_rules.item_sections(placed, values)
