"""Text for training: a corpus for language models, or labeled documents to classify.

A corpus is split by position, tokenized with a vocabulary of its training part and cut
into language-model windows; labeled documents are split by class, tokenized with a
vocabulary of the training documents and padded or cut to one length.
"""

from __future__ import annotations

import numpy as np
import torch

from athanor.data.batching import TensorSplit
from athanor.data.prepare._common import (
    as_targets,
    check_classes,
    split_pools,
    split_record,
    split_sizes,
    subset_splits,
)
from athanor.data.prepare.core import Prepared, preparer
from athanor.data.preprocessing import Preprocessor
from athanor.data.raw import RawDataset
from athanor.data.schema import InputSchema, Schema
from athanor.data.splits import ordered_split_indices, split_indices
from athanor.errors import DataError
from athanor.spec.data import DataSpec

LM_LENGTH = 64
"""Tokens per language-model sample when ``data.text.length`` is not set."""


@preparer("tokens")
def prepare_tokens(raw: RawDataset, spec: DataSpec, seed: int) -> Prepared:
    """A corpus (language models) or labeled documents (text classification)."""
    if raw.task == "classification":
        return prepare_documents(raw, spec, seed)
    return prepare_corpus(raw, spec, seed)


def prepare_corpus(raw: RawDataset, spec: DataSpec, seed: int) -> Prepared:
    """Split a corpus by position, fit the vocabulary on its training part, cut windows."""
    from athanor.data.text import Tokenize, lm_windows, split_tokens

    task = spec.task or raw.task
    if task != "language_model":
        raise DataError(f"data.task: text serves language_model, not {task}")
    if spec.split.method not in ("auto", "time"):
        raise DataError(
            f"data.split.method: '{spec.split.method}' would put overlapping text in several "
            "splits; text is split by position (auto or time)"
        )
    text = raw.text or ""
    options = spec.text.model_copy(update={"length": spec.text.length or LM_LENGTH})
    tokens = split_tokens(text, options.level, options.lowercase)
    total = len(tokens)
    sizes = split_sizes(spec, total, True)
    parts = ordered_split_indices(np.arange(total), sizes)
    bounds = {name: (int(index[0]), int(index[-1]) + 1) for name, index in parts.items()}
    tokenizer = Tokenize(options.level, length=options.length, lowercase=options.lowercase)
    train_begin, train_end = bounds["train"]
    tokenizer.fit_tokens(
        tokens[train_begin:train_end], min_count=options.min_count, max_size=options.max_vocab
    )
    ids = tokenizer.encode(tokens)
    stride = options.stride or options.length
    splits: dict[str, TensorSplit] = {}
    for name in ("train", "val", "test"):
        if name not in bounds:  # data.split: none
            continue
        begin, end = bounds[name]
        x, y = lm_windows(ids[begin:end], options.length, stride)
        if len(x) == 0:
            raise DataError(
                f"data.text: the {name} part of '{raw.name}' has {end - begin} tokens, too few "
                f"for one sample of length {options.length}; shorten data.text.length"
            )
        splits[name] = TensorSplit(torch.from_numpy(x), torch.from_numpy(y))
    splits, _ = subset_splits(splits, {}, spec, seed)
    schema = Schema(
        task="language_model",
        input=InputSchema(kind="tokens", shape=[options.length], vocab=list(tokenizer.vocab)),
        target=raw.target,
    )
    record = split_record(seed, "time", False, splits, parts)
    record["task"] = task
    record["text"] = {**options.model_dump(), "vocab_size": len(tokenizer.vocab), "tokens": total}
    return Prepared(
        train=splits["train"],
        val=splits.get("val"),
        test=splits.get("test"),
        schema=schema,
        preprocessor=Preprocessor([tokenizer]),
        record=record,
    )


def prepare_documents(raw: RawDataset, spec: DataSpec, seed: int) -> Prepared:
    """Split labeled documents, fit vocabulary and length on the training ones, pad all."""
    from athanor.data.text import Tokenize, auto_length, length_statistics, split_tokens

    task = spec.task or raw.task
    if task != "classification":
        raise DataError(f"data.task: '{raw.name}' holds labeled documents for classification")
    if spec.target is not None and spec.target != raw.target:
        raise DataError(
            f"data.target: dataset '{raw.name}' has the target '{raw.target}', not '{spec.target}'"
        )
    method = spec.split.method
    if method not in ("auto", "stratified", "random"):
        raise DataError(
            f"data.split.method: '{method}' needs table columns; documents are split at "
            "random (auto and stratified keep the class proportions, random does not)"
        )
    method = "stratified" if method == "auto" else method
    assert raw.y is not None
    check_classes(raw.y, raw.classes, f"dataset '{raw.name}'")
    total = len(raw.x)
    sizes = split_sizes(spec, total, not raw.has_official_test)
    labels = raw.y if method == "stratified" else None
    parts = split_indices(total, sizes, seed=seed, labels=labels)
    pools = split_pools(raw, parts, spec, seed)
    check_classes(pools["train"][1], raw.classes, f"data.split: the training split of '{raw.name}'")

    options = spec.text
    # The vocabulary and the default length come from the training documents alone.
    train_tokens = [
        split_tokens(str(text), options.level, options.lowercase) for text in pools["train"][0]
    ]
    lengths = np.array([len(tokens) for tokens in train_tokens])
    length = options.length or auto_length(lengths, options.level)
    tokenizer = Tokenize(options.level, length=length, lowercase=options.lowercase, keep="first")
    tokenizer.fit_tokens(
        [token for tokens in train_tokens for token in tokens],
        min_count=options.min_count,
        max_size=options.max_vocab,
    )
    splits: dict[str, TensorSplit] = {}
    for name, (x, y) in pools.items():
        ids = tokenizer.transform([str(text) for text in x])
        splits[name] = TensorSplit(ids, as_targets("classification", y))
    schema = Schema(
        task="classification",
        input=InputSchema(kind="tokens", shape=[length], vocab=list(tokenizer.vocab)),
        target=raw.target,
        classes=list(raw.classes or []),
    )
    record = split_record(seed, method, raw.has_official_test, splits, parts)
    record["task"] = task
    record["batching"] = "memory"
    record["text"] = {
        **options.model_dump(),
        "length": length,
        "length_chosen": "spec" if options.length else "95th percentile of training lengths",
        "vocab_size": len(tokenizer.vocab),
        "train_lengths": length_statistics(lengths),
        "truncated_train_share": round(float((lengths > length).mean()), 4) if len(lengths) else 0,
    }
    return Prepared(
        train=splits["train"],
        val=splits.get("val"),
        test=splits.get("test"),
        schema=schema,
        preprocessor=Preprocessor([tokenizer]),
        record=record,
    )
