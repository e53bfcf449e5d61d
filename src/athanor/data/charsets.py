"""Which text encoding a file that is not UTF-8 is probably in, for error messages.

A wrong suggestion costs the user a second failure or, worse, mojibake (Chinese text read
as latin-1 "works" and gives nonsense), so the guess checks that the bytes decode strictly
and that the result reads as the script the encoding is for.
"""

from __future__ import annotations

_CJK_CANDIDATES = (
    # (encoding to try, what to suggest, a test on each decoded character)
    ("gb18030", "gbk or gb18030 (Chinese)", lambda c: "\u4e00" <= c <= "\u9fff"),
    ("big5", "big5 (traditional Chinese)", lambda c: "\u4e00" <= c <= "\u9fff"),
    ("shift_jis", "shift_jis (Japanese)", lambda c: "\u3040" <= c <= "\u30ff"),
    ("euc-kr", "euc-kr (Korean)", lambda c: "\uac00" <= c <= "\ud7af"),
)
_LATIN = "cp1252 or latin-1 (Western European)"


def likely_encoding(content: bytes, sample: int = 65536) -> str:
    """What to suggest for ``--encoding`` for bytes that are not valid UTF-8.

    Returns:
        A short text naming the encoding(s) to try, e.g. ``gbk or gb18030 (Chinese)``.
    """
    head = content[:sample]
    # A multi-byte character may be cut at the end of the sample: drop a few trailing bytes.
    trimmed = [head] if len(content) <= sample else [head[: len(head) - cut] for cut in range(4)]
    for encoding, suggestion, in_script in _CJK_CANDIDATES:
        for chunk in trimmed:
            try:
                text = chunk.decode(encoding)
            except UnicodeDecodeError:
                continue
            wide = [c for c in text if ord(c) > 127]
            if wide and sum(1 for c in wide if in_script(c)) >= 0.6 * len(wide):
                return suggestion
            break
    return _LATIN
