"""Prometheus metrics of a model server, in a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class ServingMetrics:
    """Requests, latency, batch sizes, errors and the served versions.

    Attributes:
        content_type: the media type of :meth:`render`.
    """

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "athanor_requests",
            "Prediction requests answered, by model and HTTP status code.",
            ["model", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "athanor_request_seconds",
            "Time from receiving a prediction request to answering it.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.samples = Counter(
            "athanor_predicted_samples",
            "Samples predicted.",
            ["model"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "athanor_batch_size",
            "Samples per forward pass of the dynamic batcher.",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "athanor_batch_seconds",
            "Time of one forward pass (preprocessing included).",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "athanor_request_errors",
            "Prediction requests that failed, by model and kind of error.",
            ["model", "kind"],
            registry=self.registry,
        )
        self.version = Gauge(
            "athanor_model_version",
            "The version being served for each model.",
            ["model"],
            registry=self.registry,
        )
        self.swaps = Counter(
            "athanor_model_swaps",
            "Times a served model was swapped to another version.",
            ["model"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)
