"""An infusion's stored "planned from" explanation, shown in the reader's language
(`dosing.anchor_text`): every sentence `plan_infusions` writes reads in Chinese, and as written in
English; a text written by hand is shown as stored."""
import re

import pytest
from django.utils import translation

from dosing.anchor_text import anchor_shown

SENTENCES = [
    ("day 0 (2026-03-02) + 0 days", "第 0 天（2026-03-02） + 0 天"),
    ("day 0 (2026-03-02, infusion 1 given) + 7 days", "第 0 天（2026-03-02，第 1 次输注已完成） + 7 天"),
    ("infusion 2 given 2026-03-09 + 14 days", "第 2 次输注于 2026-03-09 完成 + 14 天"),
    ("infusion 2 given 2026-03-09 (infusion 3 missed) + 14 days",
     "第 2 次输注于 2026-03-09 完成（第 3 次输注未进行） + 14 天"),
    ("infusion 1 given 2026-03-02 (infusions 2, 3 missed) + 14 days",
     "第 1 次输注于 2026-03-02 完成（第 2, 3 次输注未进行） + 14 天"),
    ("planned day of infusion 1 (2026-03-02, not yet given) + 7 days",
     "第 1 次输注的计划日（2026-03-02，尚未输注） + 7 天"),
    ("planned day of infusion 3 (2026-03-23, missed) + 14 days", "第 3 次输注的计划日（2026-03-23，未进行） + 14 天"),
    ("planned day of infusion 2 (2026-03-09, not yet given; infusion 3 missed) + 14 days",
     "第 2 次输注的计划日（2026-03-09，尚未输注；第 3 次输注未进行） + 14 天"),
    ("day 0 (2026-03-02) (none given; infusion 1 missed) + 7 days",
     "第 0 天（2026-03-02）（均未输注；第 1 次输注未进行） + 7 天"),
    ("day 0 (2026-03-02) + 1 day", "第 0 天（2026-03-02） + 1 天"),
]


@pytest.mark.parametrize("stored, chinese", SENTENCES)
def test_every_anchor_sentence_reads_in_chinese(stored, chinese):
    with translation.override("zh-hans"):
        shown = anchor_shown(stored)
    assert shown == chinese
    assert re.findall(r"[A-Za-z]{2,}", shown) == []


@pytest.mark.parametrize("stored", [stored for stored, _chinese in SENTENCES])
def test_an_anchor_reads_in_english_as_stored(stored):
    with translation.override("en"):
        assert anchor_shown(stored) == stored


@pytest.mark.parametrize("stored", ["first infusion, moved by the pharmacy", "", "day 0 (soon) + 3 days"])
def test_an_anchor_written_by_hand_is_shown_as_stored(stored):
    with translation.override("zh-hans"):
        assert anchor_shown(stored) == stored
