"""From a data spec to tensors ready for training: load, split, fit preprocessing, transform.

Each input kind has its preparation, in its own module: samples (:mod:`.samples`, with
:mod:`.images` and :mod:`.tables`) are split by sample; a time series (:mod:`.series`) is
split by time and cut into windows; a text corpus (:mod:`.text`) is split by position,
tokenized with a vocabulary of its training part and cut into language-model windows;
labeled documents are split by class, tokenized with a vocabulary of the training documents
and padded or cut to one length. Every fitted statistic (scaling, imputation, categories,
vocabulary) comes from the training split only. :mod:`.core` holds the entry,
:func:`prepare`, and what it returns, :class:`Prepared`.
"""

# Importing the kind modules registers their preparations with the core.
from athanor.data.prepare import detection, logs, samples, series, text  # noqa: F401
from athanor.data.prepare.core import Prepared, Preparer, load_raw, prepare, preparer
from athanor.data.prepare.images import STREAM_FIT_SAMPLES, image_background
from athanor.data.prepare.text import LM_LENGTH

__all__ = [
    "LM_LENGTH",
    "STREAM_FIT_SAMPLES",
    "Prepared",
    "Preparer",
    "image_background",
    "load_raw",
    "prepare",
    "preparer",
]
