"""Tiny Shakespeare (Karpathy's char-rnn): 1.1 million characters of plays, for char LMs."""

from __future__ import annotations

import numpy as np

from athanor.data.catalog import DatasetEntry, register_dataset
from athanor.data.download import RemoteFile, fetch
from athanor.data.raw import RawDataset
from athanor.data.tables import decode_text
from athanor.settings import Settings

TINY_SHAKESPEARE = RemoteFile(
    "input.txt",
    ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",),
    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    folder="tinyshakespeare",
)


def _load(settings: Settings | None) -> RawDataset:
    path = fetch(TINY_SHAKESPEARE, settings=settings)
    return RawDataset(
        name="tinyshakespeare",
        kind="tokens",
        task="language_model",
        x=np.zeros(0, dtype=np.int64),
        y=None,
        text=decode_text(path.read_bytes(), str(path)),
        target="next_token",
        origin={TINY_SHAKESPEARE.name: str(path)},
    )


register_dataset(
    DatasetEntry(
        name="tinyshakespeare",
        task="language_model",
        kind="tokens",
        size="1,115,394 characters, 65 distinct",
        license="MIT (char-rnn); the plays are public domain",
        source="https://github.com/karpathy/char-rnn/tree/master/data/tinyshakespeare",
        description="Shakespeare's plays concatenated: next-character prediction.",
        loader=_load,
    )
)
