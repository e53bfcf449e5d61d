"""Request and response bodies of the REST API (they make its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from athanor.serve.error_responses import ErrorOut as ErrorOut
from athanor.spec.imports import ImportOptions
from athanor.spec.serving import ServingSpec

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class Open(BaseModel):
    """A body whose documented fields may be followed by others."""

    model_config = ConfigDict(extra="allow")


# --- platform --------------------------------------------------------------------------


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str


class LoginLinkOut(BaseModel):
    url: str = Field(description="Opens the console signed in; it works once, within a day.")


class GpuOut(BaseModel):
    index: int
    name: str
    memory_gb: float | None


class MachineOut(BaseModel):
    host: str
    gpus: list[GpuOut]
    cpus: int
    memory_gb: float | None


class UsageOut(BaseModel):
    gpus_in_use: list[int]
    cpus_in_use: int
    memory_gb_reserved: float
    jobs_queued: int
    jobs_placed: int


class SchedulerOut(BaseModel):
    running: bool
    passes: int
    last_error: str | None
    executor: str


class PlatformOut(BaseModel):
    version: str
    url: str
    started_at: datetime
    machine: MachineOut
    usage: UsageOut
    scheduler: SchedulerOut


class GpuUseOut(BaseModel):
    index: int
    name: str
    memory_used_gb: float
    memory_total_gb: float
    utilization_percent: float | None


class StorageOut(BaseModel):
    """Bytes the store uses, by part, and the free space of its disk."""

    home: str
    used_bytes: int
    parts: dict[str, int] = Field(
        description="database, datasets, runs, models, uploads and cache."
    )
    disk_free_bytes: int
    disk_total_bytes: int


class HostStatsOut(BaseModel):
    """What the platform's machine uses now."""

    cpu_percent: float
    cpu_count: int
    load_average: list[float]
    memory_total_gb: float
    memory_used_gb: float
    memory_percent: float
    gpus: list[GpuUseOut]
    storage: StorageOut


# --- jobs ------------------------------------------------------------------------------


class JobSubmit(BaseModel):
    """A job to queue: a run spec (a mapping, or YAML text) and ``--set`` style overrides.

    The spec's ``job`` section (resources, priority, max_restarts, stop_timeout) says how
    it is scheduled.
    """

    model_config = ConfigDict(extra="forbid")

    spec: dict[str, Any] | Annotated[str, Field(max_length=256 * 1024)] = Field(
        description="The run spec: a mapping, or YAML text (errors then name its lines).",
    )
    filename: str = Field(
        default="spec.yaml",
        max_length=255,
        description="The spec's file name, used in error messages.",
    )
    overrides: list[
        Annotated[str, Field(max_length=10_000, pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*=")]
    ] = Field(
        default_factory=list,
        max_length=200,
        description="KEY.PATH=VALUE overrides, applied in order (as 'athanor train --set').",
    )
    trial: dict[str, Any] | None = Field(
        default=None,
        description="Set by hyperparameter searches that run trials as jobs: the trial the "
        "job trains (study_name, trial_id, number, metric, pruner, max_epochs, tuning_url, "
        "deadline). Its worker reports each epoch to the trial and stops when it is pruned.",
    )
    estimated_seconds: float | None = Field(
        default=None,
        strict=True,  # a number, not true/false or "12"
        ge=0,
        le=1e9,
        description="The run's expected duration on this machine from POST /v1/specs/estimate; "
        "kept in the run's summary (estimate.total_seconds) for the queue's ETAs.",
    )


class ExampleSpecOut(BaseModel):
    """A bundled example spec: a template for a new job."""

    name: str
    title: str = Field(description="What it trains (the file's first comment line).")
    dataset: str
    model: str = Field(description="Its network template, or 'layers' for a list of layers.")
    yaml: str


class SpecIssueOut(BaseModel):
    """One problem of a spec, where it is: an editor marks it at its key's line."""

    message: str = Field(description="What is wrong, without the file, line and key path.")
    path: str | None = Field(
        default=None, description="The key path it concerns (``train.epochs``), when it has one."
    )
    line: int | None = Field(
        default=None, description="Its line in the YAML text (from 1), when the text was YAML."
    )


class SpecCheckOut(BaseModel):
    """Whether a job would be accepted: the problems, or the spec with its defaults."""

    valid: bool
    problems: list[str] = Field(description="One line per problem, naming the key path.")
    issues: list[SpecIssueOut] = Field(
        default_factory=list, description="The problems, each with its key path and line."
    )
    spec: dict[str, Any] | None = None
    error: ErrorOut | None = Field(
        default=None,
        description="The refusal as a submission would answer it: its code, the values it "
        "names and the key path of its first problem (field), for a form to show there.",
    )


class ResourcesOut(BaseModel):
    gpus: int
    cpus: int
    memory_gb: float | None = None


class WorkerOut(BaseModel):
    pid: int
    host: str
    heartbeat_at: datetime | None
    heartbeat_age_seconds: float | None


class ProgressOut(Open):
    """The latest progress a job's worker reported (about once a second)."""

    phase: str | None = None
    step: int | None = None
    total_steps: int | None = None
    epoch: int | None = None
    epochs: int | None = None
    fraction: float | None = None
    samples_per_second: float | None = None
    eta_seconds: float | None = None
    first_step_at: str | None = None
    updated_at: str | None = None


class JobOut(BaseModel):
    """A job: its run's status and reason, where it is in the queue or what it is doing."""

    id: int
    name: str
    status: Status
    reason: str = Field(description="Why the job is in its status (why it waits, how it ended).")
    dataset: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    priority: int
    resources: ResourcesOut
    max_restarts: int
    restarts: int
    attempt: int
    queue_position: int | None = Field(description="1 = next to start; none unless queued.")
    wait_reason: str
    devices: list[int]
    worker: WorkerOut | None
    progress: ProgressOut
    stop_requested: Literal["cancel", "preempt"] | None
    submitted_by: str
    attempts: list[dict[str, Any]]
    summary: dict[str, Any]
    archived_at: datetime | None = Field(
        default=None, description="When the job was archived (deleted, restorable); or none."
    )


class LogOut(BaseModel):
    """A piece of a job's log; read on from ``next_offset``."""

    offset: int
    next_offset: int
    size: int
    text: str
    complete: bool = Field(description="The job has ended and the whole log was read.")


# --- runs ------------------------------------------------------------------------------


class RunOut(BaseModel):
    id: int
    name: str
    status: Status
    status_reason: str
    dataset: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    duration_s: float | None
    host: str
    pid: int | None
    summary: dict[str, Any]
    job: bool = Field(description="Whether the run was submitted as a job.")
    archived_at: datetime | None = Field(
        default=None, description="When the run was archived (deleted, restorable); or none."
    )


class RunDetailOut(RunOut):
    spec: dict[str, Any]
    spec_yaml: str = Field(
        description="The spec the run trained with (every default filled in), as YAML: to "
        "read, copy, or submit again."
    )
    artifacts: str


class RunDependentsOut(BaseModel):
    """What depends on a run before it is deleted (archived)."""

    id: int
    status: Status
    archived: bool
    model_versions: list[str] = Field(
        description="Versions registered from the run (NAME@VERSION): they stay registered."
    )


class MetricPointOut(BaseModel):
    step: int
    epoch: int
    value: float | None = Field(description="None for a value that was NaN or infinite.")
    recorded_at: float


class DatasetDependentsOut(BaseModel):
    """What depends on a dataset (every version) or one version before it is deleted."""

    versions: list[str] = Field(description="The versions a deletion removes (NAME@HASH).")
    active_jobs: list[dict[str, Any]] = Field(
        description="Queued or running jobs on them ({id, name}): they refuse the deletion."
    )
    projects: list[str] = Field(
        description="Labeling projects built on them: they refuse the deletion."
    )
    model_versions: list[str] = Field(
        description="Model versions trained on them: they keep working, but cannot be "
        "trained again from this data."
    )
    runs: int = Field(description="Finished runs trained on them: their records stay.")


class RunPageOut(BaseModel):
    """One page of runs, and how many match the filters in all."""

    items: list[RunOut]
    total: int
    limit: int
    offset: int


class MetricSeriesOut(BaseModel):
    """One metric of a run as columns, thinned for a chart."""

    name: str
    total: int = Field(description="Points stored (before thinning).")
    last_step: int = Field(description="The newest step stored; ask after it for more.")
    steps: list[int]
    epochs: list[int]
    values: list[float | None] = Field(description="None for a value that was not finite.")
    times: list[float] = Field(
        default_factory=list,
        description="When each point was recorded, in seconds since 1970 (a wall-time axis).",
    )


class ClassScoresOut(BaseModel):
    """Precision, recall, F1 and support of one class (or an average)."""

    model_config = ConfigDict(populate_by_name=True)

    class_: str = Field(alias="class", serialization_alias="class")
    precision: float | None
    recall: float | None
    f1: float | None
    support: int


class ClassAPOut(BaseModel):
    """A detector's average precision on one class, with the class's test boxes."""

    model_config = ConfigDict(populate_by_name=True)

    class_: str = Field(alias="class", serialization_alias="class")
    ap: float | None = Field(description="COCO AP@[.5:.95]; null for a class with no boxes.")
    ap50: float | None = Field(description="AP at IoU 0.5.")
    boxes: int = Field(description="The class's boxes in the test split.")


class AverageScoresOut(BaseModel):
    precision: float | None
    recall: float | None
    f1: float | None


class CurveOut(BaseModel):
    """A curve as [x, y] points: ROC (false, true positive rate) or PR (recall, precision)."""

    auc: float | None = Field(default=None, description="Area under the ROC curve.")
    average_precision: float | None = Field(default=None, description="Of the PR curve.")
    points: list[list[float | None]]


class BinaryCurvesOut(BaseModel):
    positive_class: str
    roc: CurveOut
    pr: CurveOut


class WrongExampleOut(BaseModel):
    """A test sample the model got wrong, with what it shows."""

    index: int = Field(description="Its position in the test split.")
    actual: str
    predicted: str
    confidence: float | None = Field(description="The probability of the predicted class.")
    actual_probability: float | None
    image: str | None = Field(
        description="Its PNG's name; GET /v1/runs/{id}/evaluation/examples/{rank}.png."
    )
    row: dict[str, float | None] | None = Field(
        description="A table row as the network sees it (after preprocessing)."
    )
    text: str | None


class DecileOut(BaseModel):
    """The error of the test samples in one tenth of the actual values."""

    decile: int
    low: float | None
    high: float | None
    count: int
    mae: float | None
    rmse: float | None
    bias: float | None = Field(description="Mean residual (predicted - actual).")


class HistogramOut(BaseModel):
    edges: list[float | None]
    counts: list[int]


class EvaluationOut(BaseModel):
    """A run's evaluation on its test split: classification, regression or detection fields
    are set."""

    version: int
    task: Literal["classification", "regression", "detection"]
    split: str
    samples: int
    classes: list[str] | None = None
    accuracy: float | None = None
    per_class: list[ClassScoresOut] | None = None
    macro: AverageScoresOut | None = None
    weighted: AverageScoresOut | None = None
    confusion_matrix: list[list[int]] | None = Field(
        default=None, description="Rows: actual class; columns: predicted (up to 100 classes)."
    )
    binary: BinaryCurvesOut | None = Field(default=None, description="Two classes only.")
    wrong_examples: list[WrongExampleOut] | None = Field(
        default=None, description="The most confidently wrong test samples, most confident first."
    )
    target: str | None = None
    targets: int | None = None
    mae: float | None = None
    rmse: float | None = None
    r2: float | None = None
    bias: float | None = None
    points: list[list[float | None]] | None = Field(
        default=None, description="[actual, predicted] of up to 500 test samples."
    )
    residual_histogram: HistogramOut | None = None
    deciles: list[DecileOut] | None = None
    boxes: int | None = Field(default=None, description="Detection: boxes in the test split.")
    map: float | None = Field(default=None, description="Detection: COCO mAP@[.5:.95].")
    map50: float | None = Field(default=None, description="Detection: mAP at IoU 0.5.")
    map75: float | None = Field(default=None, description="Detection: mAP at IoU 0.75.")
    class_ap: list[ClassAPOut] | None = Field(
        default=None, description="Detection: the AP of each class, in class order."
    )


# --- datasets, uploads -----------------------------------------------------------------


class UploadOut(BaseModel):
    """An upload folder: files sent with PUT, then imported as a dataset."""

    id: str
    files: list[UploadedFile]
    size: int


class UploadedFile(BaseModel):
    path: str
    size: int


class ImportRequest(ImportOptions):
    """Import (part of) an upload as a new version of a dataset."""

    upload: str = Field(pattern=r"^[0-9a-f]{32}$", description="The upload's id.")
    path: str = Field(
        default=".",
        max_length=1024,
        description="A file or folder inside the upload ('.': all of it).",
    )


class PathImportRequest(ImportOptions):
    """Import a file or folder that lies on the platform's machine as a dataset version."""

    path: str = Field(min_length=1, max_length=4096, description="An absolute path.")


UploadOut.model_rebuild()


# --- deployments ---------------------------------------------------------------------------


class DeploymentCreate(BaseModel):
    """A registered model to serve, under a name of its own."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="The deployment's name (its predict path is /v1/deployments/NAME/predict).",
    )
    model: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"
        r"(@(v?[1-9][0-9]{0,8}|[A-Za-z][A-Za-z0-9_-]{0,63}))?$",
        description="NAME (follows the newest version), NAME@VERSION, or NAME@ALIAS (follows "
        "the alias: a moved alias is served without dropping requests).",
    )
    config: ServingSpec = Field(
        default_factory=ServingSpec,
        description="How the deployment batches and limits requests (see docs/models.md).",
    )


class DeploymentOut(BaseModel):
    """A deployment: what it serves, how, and whether it runs (with the reason)."""

    name: str
    model: str
    config: dict[str, Any]
    status: Literal["running", "stopped", "failed"]
    status_reason: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    serving: list[dict[str, Any]] = Field(description="The served version, its inputs, runtime.")
    predict_path: str


class TrafficPoint(BaseModel):
    """What a deployment answered during one step of minutes (or a whole window, for totals)."""

    requests: int
    errors: int = Field(description="Requests answered 4xx or 5xx.")
    client_errors: int = Field(description="Requests answered 4xx (a mistake in the request).")
    server_errors: int = Field(description="Requests answered 5xx.")
    p50_ms: float | None = Field(description="Median latency (None without requests).")
    p95_ms: float | None = Field(description="95th percentile latency.")
    p99_ms: float | None = Field(default=None, description="99th percentile latency.")


class TrafficMinute(TrafficPoint):
    minute: datetime = Field(description="The start of the point's first minute (UTC).")


class DeploymentMetricsOut(BaseModel):
    """Requests, errors and latency of a deployment by minute (or by steps of minutes in
    longer windows), kept in the store for ``retention_days``, the live minute included."""

    deployment: str
    minutes: int = Field(description="The window's length in minutes.")
    step_minutes: int = Field(default=1, description="Minutes per point (at most 360 points).")
    since: datetime = Field(description="The window's first minute (UTC).")
    retention_days: int = Field(default=30, description="How long the history is kept.")
    points: list[TrafficMinute] = Field(description="Every step of the window, oldest first.")
    totals: TrafficPoint


class FeatureDrift(BaseModel):
    """How far one feature's (or image channel's) served inputs moved from training."""

    feature: str
    score: float | None = Field(
        description="Standardized mean difference |served mean - training mean| / training "
        "std (None without inputs)."
    )
    state: Literal["stable", "watch", "drifted"] | None = Field(
        description="stable below the watch threshold, drifted from the drifted one."
    )
    mean: float | None = Field(description="Served mean, in training std from the training mean.")
    std: float | None = Field(description="Served std over the training std (1: the same spread).")
    values: int = Field(description="Values sketched (samples, or pixels for a channel).")


class DriftThresholds(BaseModel):
    watch: float
    drifted: float


class DriftPoint(BaseModel):
    minute: datetime = Field(description="The start of the step (UTC).")
    samples: int
    scores: list[float | None] = Field(description="One score per feature, in feature_order.")


class DeploymentDriftOut(BaseModel):
    """Input drift of a deployment against its model's training statistics."""

    deployment: str
    available: bool = Field(description="False when the model records no training statistics.")
    reason: str | None = Field(description="Why drift is not measured, when it is not.")
    score: str = Field(description="The score's name: standardized_mean_difference.")
    thresholds: DriftThresholds
    minutes: int
    step_minutes: int
    since: datetime
    samples: int = Field(description="Samples sketched in the window.")
    features: list[FeatureDrift] = Field(description="Every feature, the worst first.")
    feature_order: list[str] = Field(description="The features in the model's order.")
    series: list[DriftPoint] = Field(
        description="Every step of the window, oldest first (scores None without inputs)."
    )


class EstimateRequest(BaseModel):
    """A spec to estimate (as for a job submission) and the devices to estimate it on."""

    model_config = ConfigDict(extra="forbid")

    spec: dict[str, Any] | Annotated[str, Field(max_length=256 * 1024)] = Field(
        description="The run spec: a mapping, or YAML text.",
    )
    filename: str = Field(default="spec.yaml", max_length=255)
    overrides: list[
        Annotated[str, Field(max_length=10_000, pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*=")]
    ] = Field(default_factory=list, max_length=100, description="KEY.PATH=VALUE overrides.")
    devices: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None,
        max_length=20,
        description="cpu, cuda or catalog GPU ids; default this machine and the whole catalog.",
    )
    epochs: int | None = Field(default=None, ge=1, le=100_000)


class SecondsSpanOut(BaseModel):
    low: float
    expected: float
    high: float


class AmountSpanOut(BaseModel):
    low: float
    high: float


class OfferingCostOut(BaseModel):
    """What the estimated time costs at one offering of the price table."""

    provider: str
    offering: str
    currency: str
    price_per_hour: float
    amount: AmountSpanOut
    source: str
    as_of: str
    device: str = ""
    note: str = ""


class DominantLayerOut(BaseModel):
    layer: str
    share: float = Field(description="Fraction of the step's time (at efficiency 1).")
    bound: str = Field(description="compute or memory")


class DeviceEstimateOut(BaseModel):
    """The estimate on one device: measured here, or a roofline for a catalog GPU."""

    device: str
    name: str
    method: str = Field(description="measured (this machine) or roofline (catalog)")
    step_seconds: SecondsSpanOut
    epoch_seconds: SecondsSpanOut
    total_seconds: SecondsSpanOut
    memory_bytes: int
    device_memory_bytes: int
    fits: bool
    advice: str
    dominant_layers: list[DominantLayerOut]
    costs: list[OfferingCostOut]


class EstimateOut(BaseModel):
    """Time, peak memory and cost of training a spec."""

    spec: str
    batch_size: int
    epochs: int
    steps_per_epoch: int
    samples: dict[str, int]
    memory: dict[str, int] = Field(
        description=(
            "Bytes: weights, gradients, optimizer_state, activations, best_weights (the copy "
            "early stopping keeps), total."
        )
    )
    calibration: dict[str, Any]
    devices: list[DeviceEstimateOut]
    notes: list[str]


# --- users and the audit trail -----------------------------------------------------------

Role = Literal["viewer", "editor", "admin"]


class UserOut(BaseModel):
    name: str
    role: Role
    created_at: datetime
    created_by: str


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="The user's name.",
        examples=["ann"],
    )
    role: Role = Field(description="viewer reads; editor also changes; admin manages users.")


class UserCreatedOut(UserOut):
    token: str = Field(description="The user's first API token; it is shown only now.")
    token_name: str


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class UserRemovedOut(UserOut):
    tokens_revoked: int


class MeOut(BaseModel):
    name: str = Field(description="The caller's user ('local' under --no-auth).")
    role: Role
    credential: Literal["owner token", "token", "session", "local"]


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    user: str
    action: str = Field(examples=["submit"])
    object_kind: str = Field(examples=["job"])
    object_id: str
    detail: str


class WorkerJoinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="The joining machine's name, unique in the team (its host name by default).",
        examples=["gpu-box-2"],
    )
    gpus: int = Field(0, ge=0, le=1024, description="GPUs the worker offers.")
    cpus: int = Field(1, ge=1, le=100_000, description="CPU slots the worker offers.")


class WorkerConnectionOut(BaseModel):
    name: str = Field(description="The worker's name, as its jobs record it.")
    platform_host: str = Field(description="The platform machine's own name.")
    db_url: str = Field(description="The metadata database (PostgreSQL), with its credentials.")
    tune_db_url: str | None = Field(description="The searches' database, when set.")
    artifacts_url: str = Field(description="The artifact bucket, e.g. s3://bucket/prefix.")
    environment: dict[str, str] = Field(
        description="The object storage settings the platform uses (AWS_* variables): "
        "the worker takes those it does not set itself."
    )
