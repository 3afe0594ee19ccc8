"""The lab and temperature refusals (`trials.units`) in the reader's language: the analyte's name,
the numbers and units kept, the words in Chinese for a Chinese reader."""
from functools import partial

import pytest
from django.utils import translation

from trials import units
from trials.catalogue import shipped_catalogue

to_si = partial(units.to_si, analytes=shipped_catalogue().analytes)


@pytest.fixture(autouse=True)
def english_after_each_test():
    yield
    translation.deactivate()


def refusal(call) -> str:
    with pytest.raises(units.UnitError) as caught:
        call()
    return caught.value.message


def test_a_value_outside_the_physiological_range_is_refused_in_chinese():
    with translation.override("zh-hans"):
        message = refusal(lambda: to_si("HGB", 900, "g/L"))
    assert message.startswith("血红蛋白 900 g/L 超出生理范围 ")
    assert message.endswith(" g/L；请核对数值和单位。")


def test_every_unit_refusal_reads_in_chinese():
    with translation.override("zh-hans"):
        messages = [refusal(lambda: to_si("XYZ", 1, "g/L")), refusal(lambda: to_si("HGB", 120, "mg/furlong")),
                    refusal(lambda: to_si("HGB", "many", "g/L")), refusal(lambda: to_si("HGB", -1, "g/L")),
                    refusal(lambda: units.celsius_from_fahrenheit(200)),
                    refusal(lambda: units.fahrenheit_from_celsius("hot"))]
    assert messages[0].startswith("未知的检验项目“XYZ”；请使用以下项目之一：")
    assert messages[1].startswith("血红蛋白：不接受单位“mg/furlong”；请使用以下单位之一：")
    assert messages[2] == "血红蛋白：“many”不是数字。"
    assert messages[3] == "血红蛋白 -1 g/L 为负值；测量值不能小于 0。"
    assert messages[4].startswith("体温 200 deg F")
    assert messages[4].endswith("超出合理范围 25-45 °C；请核对数值和单位。")
    assert messages[5] == "体温：“hot”不是数字。"


def test_the_english_refusal_is_unchanged():
    with translation.override("en"):
        assert refusal(lambda: to_si("HGB", "many", "g/L")) == "Haemoglobin: 'many' is not a number."
