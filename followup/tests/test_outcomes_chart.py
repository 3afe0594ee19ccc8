"""Geometry of the study page's duration-of-response curve (followup/survival_chart.py). No database."""
from followup.statistics import duration_of_response_summary
from followup.survival_chart import Censor, build_survival_chart, duration_rows
from followup.tests.statistics_cases import CHECK_DAYS


def test_check_vector_curve_steps_down_at_each_loss():
    chart = build_survival_chart(duration_of_response_summary(CHECK_DAYS))

    # x: 34 + 316 * months / 12; y: 10 + 150 * (1 - S)
    assert chart.curve == "M34.0,10.0 H113.0 V31.4 H192.0 V82.9 H297.3 V121.4 H350.0"
    assert chart.ci_low == "M113.0,109.9 H192.0 V142.3 H297.3 V158.1 H350.0"
    assert chart.ci_high == "M113.0,13.2 H192.0 V38.0 H297.3 V61.6 H350.0"
    assert chart.censored == (Censor(165.7, 27.4, 35.4), Censor(244.7, 78.9, 86.9), Censor(350.0, 117.4, 125.4))
    assert [(t.position, t.label) for t in chart.x_ticks] == [(34.0, "0"), (113.0, "3"), (192.0, "6"), (271.0, "9"),
                                                              (350.0, "12")]
    assert [t.label for t in chart.y_ticks] == ["0", "0.5", "1"]


def test_interval_lines_stop_where_everyone_has_lost_the_response():
    chart = build_survival_chart(duration_of_response_summary([(60, False), (120, False)]))

    assert chart.curve == "M34.0,10.0 H192.0 V85.0 H350.0 V160.0 H350.0"
    assert (chart.ci_low, chart.ci_high) == ("M192.0,159.1 H350.0", "M192.0,23.4 H350.0")


def test_no_loss_yet_draws_a_flat_line_without_interval_and_the_axis_ends_on_a_tick():
    chart = build_survival_chart(duration_of_response_summary([(45, True)]))

    assert (chart.curve, chart.ci_low, chart.ci_high) == ("M34.0,10.0 H271.0", "", "")
    assert [t.label for t in chart.x_ticks] == ["0", "1", "2"]
    assert chart.censored == (Censor(271.0, 6.0, 14.0),)


def test_no_block_no_chart():
    assert build_survival_chart(None) is None


def test_duration_rows_keep_groups_with_responders_and_pick_six_months():
    block = duration_of_response_summary(CHECK_DAYS)
    rows = duration_rows([{"group": "MSC", "duration_of_response": None},
                          {"group": "all", "duration_of_response": block},
                          {"group": "old", "treated": 1}])

    assert [(row.group, row.at_6_months["time"]) for row in rows] == [("all", 6.0)]
    assert rows[0].chart == build_survival_chart(block)


def test_duration_rows_without_six_months_of_follow_up():
    (row,) = duration_rows([{"group": "all", "duration_of_response": duration_of_response_summary([(100, True)])}])

    assert row.at_6_months is None
