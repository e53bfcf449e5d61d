"""``/v1/lab``: the playground, the activation explorer and the optimizer race.

Each is a small computation that changes nothing (so a viewer may call it); every size is
bounded by the request's schema, so one request's work is bounded too.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from athanor.lab._numbers import Int
from athanor.lab.activations_demo import MAX_DEPTH, MAX_WIDTH
from athanor.lab.optimizer_race import RaceSettings
from athanor.lab.playground import MAX_STEPS_PER_CALL, LayerWeights, PlaygroundSettings
from athanor.server.routes import errors

router = APIRouter(prefix="/v1/lab", tags=["lab"])


class PlaygroundStepsRequest(BaseModel):
    """Train the playground's network some steps further."""

    model_config = ConfigDict(extra="forbid")

    settings: PlaygroundSettings
    weights: list[LayerWeights] | None = Field(
        default=None,
        max_length=10,
        description="The network after 'step' steps, as the last answer gave it (none: start).",
    )
    step: Int = Field(default=0, ge=0, le=10_000_000, description="Steps already trained.")
    steps: Int = Field(default=10, ge=0, le=MAX_STEPS_PER_CALL, description="Steps to train now.")


class PlaygroundRunRequest(BaseModel):
    """The playground as an ordinary run."""

    model_config = ConfigDict(extra="forbid")

    settings: PlaygroundSettings
    steps: Int = Field(default=0, ge=0, le=10_000_000, description="Steps trained so far.")
    name: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", description="Dataset name."
    )


@router.post(
    "/playground/steps",
    response_model=dict[str, Any],
    responses=errors(400),
    summary="Train the playground's network a few steps",
)
def playground_steps(body: PlaygroundStepsRequest) -> dict[str, Any]:
    """Train ``steps`` SGD steps from the given weights (or the seed's initial ones) and
    answer the new weights, the losses, the decision boundary, each neuron's output over the
    plane and the points. The same settings and seed always give the same answers."""
    from athanor.lab.playground import train_steps

    return train_steps(body.settings, body.weights, body.step, body.steps)


@router.post(
    "/playground/run",
    response_model=dict[str, str],
    responses=errors(400),
    summary="The playground as a run: its spec and its points' CSV",
)
def playground_run(body: PlaygroundRunRequest) -> dict[str, str]:
    """The CSV of the points' features and labels and a run spec training the same network
    on it (import the CSV as the named dataset, target 'label', then submit the spec)."""
    from athanor.lab.playground import run_files

    return run_files(body.settings, body.steps, body.name)


@router.get(
    "/activations",
    response_model=list[dict[str, Any]],
    summary="Every activation and its derivative",
)
def activations() -> list[dict[str, Any]]:
    """Each activation of the network builder on [-6, 6] with its derivative by autograd."""
    from athanor.lab.activations_demo import activation_curves

    return activation_curves()


@router.get(
    "/activations/gradients",
    response_model=list[dict[str, Any]],
    responses=errors(400),
    summary="Gradient norm per layer of a deep MLP, per activation",
)
def activation_gradients(
    activation: Annotated[list[str], Query(max_length=4)] = ["sigmoid", "relu"],  # noqa: B006
    depth: Annotated[int, Query(ge=2, le=MAX_DEPTH)] = 10,
    width: Annotated[int, Query(ge=2, le=MAX_WIDTH)] = 32,
    seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[dict[str, Any]]:
    """One backward pass over a batch of spiral points through a ``depth``-layer MLP per
    activation: the norm of each layer's weight gradient, input first."""
    from athanor.lab.activations_demo import gradient_norms

    return gradient_norms(activation, depth, width, seed)


@router.post(
    "/optimizers/race",
    response_model=dict[str, Any],
    responses=errors(400),
    summary="Optimizers' trajectories on a 2-D loss surface",
)
def optimizer_race(body: RaceSettings) -> dict[str, Any]:
    """Every optimizer's path from the same start on the surface, and the surface on a
    grid for the contour plot."""
    from athanor.lab.optimizer_race import race

    return race(body)
