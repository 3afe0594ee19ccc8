"""Geometry of the dashboard's charts (followup/dashboard_charts.py) and the numbers at risk under
the Kaplan-Meier curve (followup/survival_chart.py), table-driven. No database."""
import pytest

from followup.dashboard_charts import (Series, SwimmerInput, best_change, build_band, build_histogram, build_spaghetti,
                                       build_swimmer, build_waterfall, day_spreads, nice_step, quantile,
                                       ticks_between)
from followup.statistics import duration_of_response_summary
from followup.survival_chart import at_risk_at, build_survival_chart
from followup.tests.statistics_cases import CHECK_DAYS


@pytest.mark.parametrize("span, step", [(120, 20), (420, 100), (1, 0.2), (37, 10), (290, 50), (0, 1)])
def test_nice_step(span, step):
    assert nice_step(span) == step


@pytest.mark.parametrize("low, high, ticks", [
    (0, 120, [0, 20, 40, 60, 80, 100, 120]),
    (-40, 250, [-50, 0, 50, 100, 150, 200, 250]),
    (0, 37, [0, 10, 20, 30, 40]),
    (0, 7, [0, 2, 4, 6, 8]),
])
def test_ticks_between_cover_the_range(low, high, ticks):
    assert ticks_between(low, high) == ticks


@pytest.mark.parametrize("baseline, values, change", [
    (15, [125, 110], 733.3), (15, [25, 22], 66.7), (40, [20, 30], -25.0),
    (None, [20], None), (0, [20], None), (15, [], None),
])
def test_best_change_is_the_largest_rise_in_percent(baseline, values, change):
    assert best_change(baseline, values) == change


def test_spaghetti_draws_each_participant_and_the_thresholds():
    chart = build_spaghetti([Series("P1", ((0, 15), (30, 110), (37, 125))), Series("P2", ((0, 15), (90, 19))),
                             Series("P3", ())], [(30.0, "R 30"), (100.0, "CR 100")])

    f = chart.frame
    assert (f.left, f.right, f.top, f.bottom, f.height) == (56, 704, 12, 232, 276)
    assert [t.label for t in chart.x_ticks] == ["0", "20", "40", "60", "80", "100"]
    assert [t.label for t in chart.y_ticks] == ["0", "25", "50", "75", "100", "125"]
    # x: 56 + 648 * day / 100; y: 232 - 220 * value / 125
    assert chart.series[0].path == "56.0,205.6 250.4,38.4 295.8,12.0"
    assert chart.series[1].path == "56.0,205.6 639.2,198.6"
    assert [(t.y, t.label, t.label_y) for t in chart.thresholds] == [(179.2, "R 30", 176.2), (56.0, "CR 100", 53.0)]
    assert [s.label for s in chart.series] == ["P1", "P2"]  # without a value, no line


def test_spaghetti_without_values():
    assert build_spaghetti([Series("P1", ())], [(30.0, "R 30")]) is None


def test_swimmer_lanes_longest_first_with_their_marks():
    chart = build_swimmer([
        SwimmerInput("P2", 100, False, (0,), serious_events=(50,)),
        SwimmerInput("P1", 200, True, (0, 7, 21), response=30, loss=150),
    ])

    # x: 96 + 608 * day / 200; lanes of 16 from y = 12
    assert [lane.label for lane in chart.lanes] == ["P1", "P2"]
    p1, p2 = chart.lanes
    assert (p1.y, p1.x1, p1.x2, p1.ongoing, p1.infusions) == (20.0, 96.0, 704.0, True, (96.0, 117.3, 159.8))
    assert (p1.response, p1.loss, p1.loss_box, p1.mark_top, p1.mark_bottom) == (187.2, 552.0, (548.0, 16.0), 15.0,
                                                                                 25.0)
    assert (p2.y, p2.x2, p2.ongoing, p2.serious_events, p2.response, p2.loss_box) == (
        36.0, 400.0, False, (248.0,), None, None)
    assert chart.frame.height == 12 + 2 * 16 + 44
    assert [t.label for t in chart.x_ticks] == ["0", "50", "100", "150", "200"]


def test_swimmer_of_nobody():
    assert build_swimmer([]) is None


def test_waterfall_bars_from_the_largest_rise_down():
    chart = build_waterfall([("B", 66.7), ("A", 733.3), ("C", -25.0)])

    # y ticks -200..800 step 200; y: 212 - 200 * (v + 200) / 1000; three slots of 216
    assert [t.label for t in chart.y_ticks] == ["-200", "0", "200", "400", "600", "800"]
    assert chart.zero == 172.0
    assert [(b.label, b.x, b.y, b.width, b.height, b.rising) for b in chart.bars] == [
        ("A", 144.0, 25.3, 40, 146.7, True),
        ("B", 360.0, 158.7, 40, 13.3, True),
        ("C", 576.0, 172.0, 40, 5.0, False),
    ]


def test_waterfall_of_nobody():
    assert build_waterfall([]) is None


@pytest.mark.parametrize("time, at_risk", [(0, 7), (3, 7), (6, 5), (9, 2), (12, 1), (13, 0)])
def test_numbers_at_risk_of_the_check_vector(time, at_risk):
    # (3,1) (5,0) (6,1) (6,1) (8,0) (10,1) (12,0): at risk = not lost nor censored before the time
    assert at_risk_at(duration_of_response_summary(CHECK_DAYS), time) == at_risk


def test_survival_chart_shows_the_numbers_at_risk_under_each_tick():
    chart = build_survival_chart(duration_of_response_summary(CHECK_DAYS))

    assert [(t.position, t.label) for t in chart.at_risk] == [(34.0, "7"), (113.0, "7"), (192.0, "5"),
                                                               (271.0, "2"), (350.0, "1")]
    assert (chart.plot_bottom, chart.x_title_y, chart.at_risk_y, chart.height) == (160, 190, 212, 228)


def test_swimmer_leaves_room_for_long_participant_numbers():
    chart = build_swimmer([SwimmerInput("MSC-ITP-5-PUMCH-001", 10, True, (0,))])
    assert (chart.frame.left, chart.label_x) == (126, 122)


@pytest.mark.parametrize("values, share, expected", [
    ([1, 2, 3, 4], 0.5, 2.5), ([1, 2, 3, 4], 0.25, 1.75), ([1, 2, 3, 4], 0.75, 3.25), ([7], 0.25, 7), ([1, 9], 0.5, 5),
])
def test_quantile_interpolates_between_ranks(values, share, expected):
    assert quantile(values, share) == expected


def test_band_of_many_participants_has_one_point_per_day_whatever_their_number():
    series = [Series(f"P{i}", ((0, 10 + i % 4), (28, 40 + i % 4))) for i in range(10000)]
    spreads = day_spreads(series)
    assert [(s.day, s.participants, s.low, s.median, s.high) for s in spreads] == [
        (0, 10000, 10.75, 11.5, 12.25), (28, 10000, 40.75, 41.5, 42.25)]
    chart = build_band(spreads, [(30.0, "R 30")])
    assert len(chart.median.split()) == 2 and len(chart.band.split()) == 4
    assert build_band([], []) is None


def test_histogram_counts_every_change_in_a_bounded_number_of_bins():
    changes = [(i % 1000) - 100.0 for i in range(10000)]  # -100 .. 899
    chart = build_histogram(changes)
    assert len(chart.bins) <= 21 and sum(b.participants for b in chart.bins) == 10000
    assert chart.bins[0].low == -100 and chart.bins[-1].high >= 899
    assert [b.rising for b in chart.bins[:3]] == [False, False, True]  # bins of 50: -100, -50, 0
    assert build_histogram([]) is None
    single = build_histogram([12.5, 12.5])
    assert [(b.low, b.high, b.participants) for b in single.bins] == [(12, 13, 2)]
