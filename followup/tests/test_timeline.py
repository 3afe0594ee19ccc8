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
