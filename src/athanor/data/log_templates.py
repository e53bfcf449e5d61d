"""Log templates mined with Drain: the constant part of each kind of log line.

Drain (He et al., "Drain: An Online Log Parsing Approach with Fixed Depth Tree", ICWS 2017)
reads lines one at a time. A line's content is masked (block ids, addresses, numbers become
``<*>``), split on white space, and routed down a tree of fixed depth: first by its number of
tokens, then by its first ``depth - 2`` tokens (a token holding a digit goes to the ``<*>``
child; a node holding ``max_children`` children sends new tokens to ``<*>`` too). The leaf
holds clusters; the line joins the one whose template shares the most tokens with it, if that
share is at least ``similarity``, and the template's differing positions become ``<*>``;
otherwise the line starts a new cluster. Each cluster is a template with a key (1, 2, ... in
order of first appearance), a count and the first line seen as its example.

Why our own implementation rather than the ``drain3`` package: drain3 is unmaintained and
pins old versions of its dependencies (``cachetools``, ``jsonpickle``) that conflict with
ours; its persistence is ``jsonpickle``, which rebuilds arbitrary Python objects from a state
file (the pickle risk our packages refuse: models keep plain JSON); and the part of it a
model needs is this small algorithm, about 150 lines, which the paper specifies completely.
Here the miner's state is plain JSON (every template with its tree path), so a model package
can carry it and parse new logs exactly as the training logs were parsed; at prediction
lines are only matched (:meth:`TemplateMiner.match`), never added, so a line of a kind the
training logs never showed has no key and is reported as unexpected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

WILDCARD = "<*>"
DEFAULT_MASKS: tuple[tuple[str, str], ...] = (
    (r"blk_-?\d+", "blk_<*>"),
    (r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?(?![\w.])", WILDCARD),
    (r"(?<![\w])0[xX][0-9a-fA-F]+(?![\w])", WILDCARD),
    (r"(?<![\w.:/-])-?\d+(?:\.\d+)?(?![\w.:/-])", WILDCARD),
)
"""(pattern, replacement) applied to every line's content before mining: HDFS block ids,
IPv4 addresses with an optional port, hexadecimal numbers and stand-alone numbers."""


@dataclass
class LogTemplate:
    """One cluster: its key, template tokens, lines seen and the first of them."""

    key: int
    tokens: list[str]
    path: list[str]
    """Where the cluster sits in the tree: its token count, then its leading tokens."""
    count: int = 0
    example: str = ""

    @property
    def template(self) -> str:
        return " ".join(self.tokens)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "template": self.template,
            "tokens": self.tokens,
            "path": self.path,
            "count": self.count,
            "example": self.example,
        }


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    clusters: list[LogTemplate] = field(default_factory=list)


class TemplateMiner:
    """Drain's parse tree and its clusters.

    Args:
        depth: depth of the tree, counting the root and the leaves (``depth - 2`` leading
            tokens route a line; default 4 as in the paper's HDFS setting).
        similarity: share of equal tokens a line needs to join a cluster (default 0.5).
        max_children: children of an inner node before new tokens go to ``<*>`` (100).
        masks: (regex, replacement) pairs applied to the content first (default
            :data:`DEFAULT_MASKS`).
    """

    def __init__(
        self,
        depth: int = 4,
        similarity: float = 0.5,
        max_children: int = 100,
        masks: list[tuple[str, str]] | tuple[tuple[str, str], ...] = DEFAULT_MASKS,
    ) -> None:
        if depth < 3:
            raise ValueError("Drain's tree needs a depth of at least 3")
        self.depth = depth
        self.similarity = similarity
        self.max_children = max_children
        self.masks = [(str(p), str(r)) for p, r in masks]
        self._compiled = [(re.compile(p), r) for p, r in self.masks]
        self.root = _Node()
        self.templates: list[LogTemplate] = []

    # -- mining -------------------------------------------------------------------------

    def tokens(self, content: str) -> list[str]:
        """The masked tokens of a line's content."""
        for pattern, replacement in self._compiled:
            content = pattern.sub(replacement, content)
        return content.split()

    def add(self, content: str) -> LogTemplate:
        """Mine one line's content: the cluster it joined or started (its count goes up)."""
        tokens = self.tokens(content)
        leaf = self._leaf(tokens, create=True)
        assert leaf is not None
        cluster = self._best(leaf.clusters, tokens)
        if cluster is None:
            cluster = LogTemplate(
                key=len(self.templates) + 1,
                tokens=list(tokens),
                path=self._path(tokens),
                example=content,
            )
            leaf.clusters.append(cluster)
            self.templates.append(cluster)
        else:
            cluster.tokens = [
                a if a == b else WILDCARD for a, b in zip(cluster.tokens, tokens, strict=True)
            ]
        cluster.count += 1
        return cluster

    def match(self, content: str) -> LogTemplate | None:
        """The cluster a line's content belongs to, without changing any; None when no
        template of the training logs fits it."""
        tokens = self.tokens(content)
        leaf = self._leaf(tokens, create=False)
        return None if leaf is None else self._best(leaf.clusters, tokens)

    def _path(self, tokens: list[str]) -> list[str]:
        path = [str(len(tokens))]
        for token in tokens[: self.depth - 2]:
            path.append(WILDCARD if any(c.isdigit() for c in token) else token)
        return path

    def _leaf(self, tokens: list[str], *, create: bool) -> _Node | None:
        node = self.root.children.get(str(len(tokens)))
        if node is None:
            if not create:
                return None
            node = self.root.children[str(len(tokens))] = _Node()
        for token in tokens[: self.depth - 2]:
            key = WILDCARD if any(c.isdigit() for c in token) else token
            if key in node.children:
                node = node.children[key]
            elif not create:
                if WILDCARD not in node.children:
                    return None
                node = node.children[WILDCARD]
            elif len(node.children) + 1 < self.max_children or key == WILDCARD:
                node = node.children.setdefault(key, _Node())
            else:
                node = node.children.setdefault(WILDCARD, _Node())
        return node

    def _best(self, clusters: list[LogTemplate], tokens: list[str]) -> LogTemplate | None:
        best, best_score = None, (-1.0, -1)
        for cluster in clusters:
            same = wildcards = 0
            for a, b in zip(cluster.tokens, tokens, strict=True):
                if a == WILDCARD:
                    wildcards += 1
                elif a == b:
                    same += 1
            score = (same / max(len(tokens), 1), wildcards)
            if score > best_score:
                best, best_score = cluster, score
        if best is None or best_score[0] < self.similarity:
            return None
        return best

    # -- state ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Plain JSON: the options and every template with its tree path."""
        return {
            "depth": self.depth,
            "similarity": self.similarity,
            "max_children": self.max_children,
            "masks": [list(m) for m in self.masks],
            "templates": [t.to_json() for t in self.templates],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TemplateMiner:
        """The miner :meth:`state` described, its tree rebuilt from the templates' paths."""
        miner = cls(
            depth=int(state["depth"]),
            similarity=float(state["similarity"]),
            max_children=int(state["max_children"]),
            masks=[tuple(m) for m in state["masks"]],  # type: ignore[misc]
        )
        for item in state["templates"]:
            template = LogTemplate(
                key=int(item["key"]),
                tokens=list(item["tokens"]),
                path=list(item["path"]),
                count=int(item.get("count", 0)),
                example=str(item.get("example", "")),
            )
            node = miner.root
            for step in template.path:
                node = node.children.setdefault(step, _Node())
            node.clusters.append(template)
            miner.templates.append(template)
        return miner


def grouping_accuracy(truth: list[str], parsed: list[Any]) -> float:
    """Share of lines whose parsed group holds exactly the lines of their true group.

    The measure of log-parser benchmarks (Zhu et al., ICSE-SEIP 2019): a line counts as
    parsed correctly only when the set of lines given its template equals the set of lines
    that share its true template.
    """
    if len(truth) != len(parsed):
        raise ValueError("truth and parsed must list the same lines")
    by_truth: dict[Any, set[int]] = {}
    by_parsed: dict[Any, set[int]] = {}
    for index, (t, p) in enumerate(zip(truth, parsed, strict=True)):
        by_truth.setdefault(t, set()).add(index)
        by_parsed.setdefault(p, set()).add(index)
    correct = sum(
        len(lines) for lines in by_parsed.values() if by_truth[truth[min(lines)]] == lines
    )
    return correct / max(len(truth), 1)
