"""Encoding suggestions for files that are not UTF-8, on real text in each script."""

from __future__ import annotations

import pytest

from athanor.data.charsets import likely_encoding
from athanor.data.tables import decode_text
from athanor.errors import DataError

CHINESE = "城市,面积,房价\n北京,50,100\n上海,60,120\n广州,70,80\n"


@pytest.mark.parametrize(
    ("text", "encoding", "suggested"),
    [
        (CHINESE, "gbk", "gbk or gb18030"),
        (CHINESE, "gb18030", "gbk or gb18030"),
        ("城市,房價\n臺北,100\n", "big5", "big5"),
        ("city,café,naïve\nZürich,1,2\n", "latin-1", "cp1252 or latin-1"),
    ],
)
def test_the_likely_encoding(text: str, encoding: str, suggested: str) -> None:
    assert likely_encoding(text.encode(encoding)).startswith(suggested)


def test_chinese_text_in_gbk_is_not_sent_to_latin_1() -> None:
    content = CHINESE.encode("gbk")
    with pytest.raises(DataError, match="homes.csv:1: not valid utf-8") as error:
        decode_text(content, "homes.csv")
    assert "gbk or gb18030 (Chinese)" in str(error.value)
    assert "latin-1" not in str(error.value)
    assert decode_text(content, "homes.csv", "gbk") == CHINESE
