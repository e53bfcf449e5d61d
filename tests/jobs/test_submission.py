"""Submission refuses, with the reason, what could never run here."""

from __future__ import annotations

import pytest

from athanor.errors import DatasetNotFound, SpecError, UserError
from athanor.jobs.machine import Gpu, Machine
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
