"""The check the pure clinical rules make of a count they are given (a grade, a number of days, of
participants, of successes): a whole number - an int or a numpy integer - never a bool or a float."""
import operator


def whole_number(value, name: str) -> int:
    """`value` as an int; ValueError naming `name` when it is a bool or not a whole number."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got the boolean {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
