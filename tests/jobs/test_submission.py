"""Submission refuses, with the reason, what could never run here."""

from __future__ import annotations

import pytest

from athanor.errors import DatasetNotFound, SpecError, UserError
from athanor.jobs.machine import Gpu, Machine, Node
from athanor.jobs.submission import submit
from athanor.store import RunStatus, open_store

MACHINE = Machine(host="h", gpus=(Gpu(0),), cpus=2, memory_gb=8.0)
SPEC = "data: {dataset: digits}\nmodel: {template: mlp}\n"


@pytest.mark.usefixtures("backend")
def test_a_valid_job_is_queued_with_its_job_section() -> None:
    store = open_store()
    job = submit(store, MACHINE, SPEC, ["job.priority=7", "job.resources.gpus=1"], origin="s.yaml")
    assert job.status == RunStatus.QUEUED and job.priority == 7 and job.gpus == 1
    assert store.runs.get(job.id).spec["job"]["resources"]["gpus"] == 1


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        (["train.epochs=0"], SpecError, "--set train.epochs=0: train.epochs: must be greater"),
        (["data.dataset=nope"], DatasetNotFound, "unknown dataset 'nope'"),
        (["job.resources.cpus=3"], UserError, "job.resources.cpus: 3 asked for"),
        (["job.resources.memory_gb=9"], UserError, "job.resources.memory_gb: 9 asked for"),
        (["train.device=cuda"], UserError, "train.device: cuda needs a GPU"),
        (
            ["train.device=cuda:1", "job.resources.gpus=1"],
            UserError,
            "the job sees its 1 GPU(s) as cuda:0..cuda:0",
        ),
        (["register_as=bad name"], SpecError, "register_as"),
    ],
)
@pytest.mark.usefixtures("backend")
def test_jobs_that_cannot_run_are_refused_before_anything_is_stored(
    overrides: list[str], error: type[Exception], message: str
) -> None:
    store = open_store()
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        submit(store, MACHINE, SPEC, overrides)
    assert store.jobs.list() == []


def test_yaml_errors_name_the_line_of_the_submitted_text() -> None:
    text = SPEC + "train:\n  epochz: 2\n"
    with pytest.raises(SpecError, match=r"^mine.yaml:4: train.epochz: unknown key"):
        submit(open_store(), MACHINE, text, origin="mine.yaml")


def test_a_dataset_not_here_yet_passes_the_load_check_unless_nothing_can_be_downloaded(
    tmp_path,
) -> None:
    from athanor.errors import DataError
    from athanor.jobs.submission import check_dataset_loads
    from athanor.settings import Settings
    from athanor.spec.loading import load_spec_text

    spec = load_spec_text("data: {dataset: fashion-mnist}\nmodel: {template: mlp}\n", "s.yaml")
    bare = Settings(home=tmp_path, db_url=f"sqlite:///{tmp_path / 'a.db'}", data_mirrors=())
    check_dataset_loads(spec, bare)  # its job downloads it; the check itself never does
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.gz"))
    offline = Settings(
        home=tmp_path, db_url=f"sqlite:///{tmp_path / 'a.db'}", data_mirrors=(), offline=True
    )
    with pytest.raises(DataError, match=r"^data.dataset: 'fashion-mnist' cannot be loaded: "):
        check_dataset_loads(spec, offline)


@pytest.mark.usefixtures("backend")
def test_on_a_cluster_each_process_must_fit_one_node() -> None:
    store = open_store()
    nodes = (Node(cpus=4, gpus=1, memory_gb=16.0), Node(cpus=4, gpus=0, memory_gb=16.0))
    cluster = Machine(host="ray:h", gpus=(Gpu(0),), cpus=8, memory_gb=32.0, nodes=nodes)
    # 8 CPUs exist in all, but a job's one process runs on one node of 4
    with pytest.raises(UserError, match=r"job.resources: 8 CPUs, 0 GPUs for one process") as no:
        submit(store, cluster, SPEC, ["job.resources.cpus=8"])
    assert "(the largest: 4 CPUs, 1 GPUs, 16 GB)" in str(no.value)
    assert "job.resources.workers spreads" in str(no.value)
    with pytest.raises(UserError, match="4 CPUs, 1 GPUs, 20 GB for one process"):
        submit(
            store,
            cluster,
            SPEC,
            ["job.resources.cpus=4", "job.resources.gpus=1", "job.resources.memory_gb=20"],
        )
    # two ranks of 4 CPUs fit the two nodes; a GPU and 4 CPUs fit the first
    assert submit(store, cluster, SPEC, ["job.resources.cpus=8", "job.resources.workers=2"])
    assert submit(store, cluster, SPEC, ["job.resources.cpus=4", "job.resources.gpus=1"])
