import pytest
from hypothesis import given
from hypothesis import strategies as st

from dosing.windows import DAY_0, PREVIOUS_ACTUAL, InfusionRule, NominalInfusion, nominal_infusion_days

P3 = [
    InfusionRule(1, DAY_0, 0),
    InfusionRule(2, PREVIOUS_ACTUAL, 7, 1, 1),
    InfusionRule(3, PREVIOUS_ACTUAL, 14, 3, 3),
    InfusionRule(4, PREVIOUS_ACTUAL, 14, 3, 3),
    InfusionRule(5, PREVIOUS_ACTUAL, 14, 3, 3),
]
P2 = [InfusionRule(1, DAY_0, 0)] + [InfusionRule(n, DAY_0, 7 * (n - 1), 1, 1) for n in (2, 3, 4)]


@pytest.mark.parametrize(
    "rules, expected",
    [
        (P3, [(1, 0, 0, 0), (2, 7, 6, 8), (3, 21, 18, 24), (4, 35, 32, 38), (5, 49, 46, 52)]),
        (P2, [(1, 0, 0, 0), (2, 7, 6, 8), (3, 14, 13, 15), (4, 21, 20, 22)]),
        ([InfusionRule(1, DAY_0, 0)], [(1, 0, 0, 0)]),
    ],
)
def test_nominal_infusion_days_protocol_schedules(rules, expected):
    assert nominal_infusion_days(rules) == [NominalInfusion(*row) for row in expected]


def test_nominal_infusion_days_orders_by_number():
    assert [n.number for n in nominal_infusion_days(list(reversed(P3)))] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "rules, message",
    [
        ([InfusionRule(1, PREVIOUS_ACTUAL, 7)], "none comes before it"),
        ([InfusionRule(1, DAY_0, 0), InfusionRule(1, DAY_0, 7)], "repeat"),
        ([InfusionRule(1, "weekly", 0)], "Unknown anchor"),
    ],
)
def test_nominal_infusion_days_refuses_impossible_schedules(rules, message):
    with pytest.raises(ValueError, match=message):
        nominal_infusion_days(rules)


@given(st.lists(st.tuples(st.integers(1, 60), st.integers(0, 5), st.integers(0, 5)), max_size=10))
def test_nominal_infusion_days_chained_days_increase(gaps):
    rules = [InfusionRule(1, DAY_0, 0)] + [
        InfusionRule(i + 2, PREVIOUS_ACTUAL, gap, before, after) for i, (gap, before, after) in enumerate(gaps)
    ]
    planned = nominal_infusion_days(rules)
    assert planned[-1].day == sum(gap for gap, _, _ in gaps)
    for earlier, later in zip(planned, planned[1:]):
        assert later.day > earlier.day
    for row in planned:
        assert row.earliest_day <= row.day <= row.latest_day
