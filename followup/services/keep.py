"""The value of a field that a correction leaves as it is."""


class _Keep:
    """The value of a field that a correction leaves as it is (`assessment_update`, `adverse_event_update`)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()
