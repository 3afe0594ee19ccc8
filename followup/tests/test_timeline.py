from datetime import date

from followup.timeline import build_chart


def test_chart_places_points_thresholds_and_infusions_in_the_plot():
    chart = build_chart([(date(2026, 1, 1), 15, "NE"), (date(2026, 1, 31), 120, "CR")],
                        infusions=[date(2026, 1, 1), date(2026, 1, 8)], thresholds=[(30, "R 30"), (100, "CR 100")],
                        unit="10^9/L")
    first, last = chart.points
    assert (first.x, last.x) == (chart.plot_left, chart.plot_right)
    assert chart.plot_top <= last.y < first.y <= chart.plot_bottom
    assert [line.label for line in chart.thresholds] == ["R 30", "CR 100"]
    assert chart.thresholds[1].y < chart.thresholds[0].y  # higher value, higher on the chart
    assert [m.label for m in chart.infusions] == ["#1", "#2"]
    assert chart.polyline == f"{first.x},{first.y} {last.x},{last.y}"


def test_chart_without_values_is_none():
    assert build_chart([], infusions=[date(2026, 1, 1)], thresholds=[], unit="g/L") is None


def test_adverse_events_share_the_time_axis_under_the_plot():
    values = [(date(2026, 1, 1), 15, "NE"), (date(2026, 1, 31), 120, "CR")]
    chart = build_chart(values, infusions=[date(2026, 1, 1)], thresholds=[], unit="10^9/L",
                        events=[(date(2026, 1, 1), date(2026, 1, 3), "Fever G1", 1),
                                (date(2026, 1, 20), None, "Headache G2", 2), (date(2026, 2, 10), None, "Rash G1", 1)],
                        response=(date(2026, 1, 16), "CR confirmed"))
    fever, headache, rash = chart.events
    assert fever.x1 == chart.plot_left and not fever.ongoing
    assert headache.x2 == chart.plot_right and headache.ongoing  # ongoing: to the chart's end
    assert chart.points[-1].x < chart.plot_right  # the axis reaches the latest event's onset
    assert rash.x1 < rash.x2 == chart.plot_right  # an event starting on the last day still shows
    assert chart.plot_bottom < fever.y < headache.y < rash.y < chart.height
    assert chart.height == 240 + 14 * 4
    assert chart.plot_left < chart.response.x < chart.points[-1].x and chart.response.label == "CR confirmed"


def test_at_most_eight_event_lanes_are_drawn():
    events = [(date(2026, 1, d), date(2026, 1, d + 1), f"AE {d}", 1) for d in range(1, 12)]
    chart = build_chart([(date(2026, 1, 1), 15, "NE")], infusions=[], thresholds=[], unit="g/L", events=events)
    assert len(chart.events) == 8 and chart.events_not_drawn == 3


def test_date_labels_stay_inside_the_chart_and_a_single_day_is_drawn_in_the_middle():
    chart = build_chart([(date(2026, 1, 1), 15, "NE"), (date(2026, 1, 31), 120, "CR")],
                        infusions=[date(2026, 1, 1)], thresholds=[], unit="10^9/L")
    assert [t.anchor for t in chart.x_ticks] == ["start", "middle", "middle", "middle", "end"]

    one = build_chart([(date(2026, 1, 1), 15, "NE")], infusions=[date(2026, 1, 1)], thresholds=[], unit="10^9/L")
    middle = (one.plot_left + one.plot_right) / 2
    assert one.points[0].x == one.infusions[0].x == middle
    labels = [t.label for t in one.x_ticks]
    assert labels == sorted(set(labels)) and "2026-01-01" in labels
