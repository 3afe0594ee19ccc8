"""The hooks through which a lower app hands work to a higher one (trials/hooks.py)."""
import pytest

from trials import hooks
from trials.hooks import Hook


def test_receivers_run_in_the_order_they_were_connected_and_once_each():
    hook, calls = Hook("probe", "(n) -> None."), []
    first = hook.connect(lambda *, n: calls.append(("first", n)))
    hook.connect(lambda *, n: calls.append(("second", n)))
    hook.connect(first)  # an app's ready() run twice connects nothing more

    hook(n=7)

    assert calls == [("first", 7), ("second", 7)]


def test_a_hook_nobody_handles_is_refused_rather_than_skipped():
    with pytest.raises(LookupError, match="probe"):
        Hook("probe", "")(n=1)


def test_a_reading_hook_needs_exactly_one_receiver():
    hook = Hook("probe", "")
    with pytest.raises(LookupError, match="exactly one"):
        hook.one()
    hook.connect(lambda: "answer")
    assert hook.one() == "answer"
    hook.connect(lambda: "another")
    with pytest.raises(LookupError, match="exactly one"):
        hook.one()


@pytest.mark.parametrize("hook", [hooks.participant_enrolled, hooks.infusion_changed, hooks.escalation_events,
                                  hooks.participant_schedule])
def test_follow_up_connects_each_hook_once(hook):
    assert len(hook._receivers) == 1
    assert hook._receivers[0].__module__.startswith("followup.")
