"""The statuses of a run (and of its job), and one change of status as the store applies it.

Which change happens, and with which reason, is decided above the store
(:mod:`athanor.runs.lifecycle`); the repositories only compare and set: they apply a
:class:`StatusChange` when the run is still in one of the statuses it expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RunStatus(StrEnum):
    """Lifecycle of a run; the last three are final."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class StopRequest(StrEnum):
    """Why a job's worker is asked to stop."""

    CANCEL = "cancel"  # by a user: the run ends cancelled, with a checkpoint to resume from
    PREEMPT = "preempt"  # by the platform (shutdown): the job goes back to the queue


@dataclass(frozen=True)
class StatusChange:
    """Set a run's status to ``status`` with ``reason``, if it is now one of ``expected``.

    Attributes:
        status: the new status.
        reason: why, in words the user reads (``athanor runs list``, the console).
        expected: the statuses the change may be applied from; a run found in another one
            (someone else changed it meanwhile) is left alone.
    """

    status: RunStatus
    reason: str
    expected: frozenset[RunStatus]

    def applies_to(self, current: RunStatus | str) -> bool:
        """Whether a run now in ``current`` may take this change."""
        return RunStatus(current) in self.expected
