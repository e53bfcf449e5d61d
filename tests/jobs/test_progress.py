"""A job attempt in this process: claimed once, trained, its progress in the store."""

from __future__ import annotations

from datetime import datetime

from athanor.jobs.progress import JobProgress
from athanor.runs import execute
from athanor.spec import load_spec
from athanor.store import RunStatus, open_store


def test_an_attempt_claims_the_job_trains_it_and_reports_progress() -> None:
    store = open_store()
    spec = load_spec(
        {
            "data": {"dataset": "digits", "split": {"val": 0.1, "test": 0.2}},
            "model": {"template": "mlp", "hidden": [16]},
            "train": {"epochs": 2, "batch_size": 64},
        }
    )
    job = store.jobs.submit(spec.model_dump(mode="json"), name="p", dataset="digits")
    progress = JobProgress(store.jobs, job.id, every=0.01)
    result = execute(job.id, progress=False, callbacks=[progress])
    assert result is not None and result.run.status == RunStatus.SUCCEEDED
    assert result.run.status_reason == "completed 2 epoch(s)"
    reported = store.jobs.get(job.id).progress
    steps = 2 * 20  # 1,258 training samples in batches of 64
    assert (reported["step"], reported["total_steps"], reported["epoch"]) == (steps, steps, 2)
    assert reported["phase"] == "testing and saving the model"
    assert reported["fraction"] == 1.0 and reported["eta_seconds"] == 0.0
    assert reported["samples_per_second"] > 0 and set(reported["metrics"]) >= {"val_loss"}
    first = datetime.fromisoformat(reported["first_step_at"])
    assert result.run.started_at < first < datetime.fromisoformat(reported["updated_at"])
    assert execute(job.id, progress=False) is None  # it is no longer queued: nothing to do
