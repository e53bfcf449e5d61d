"""The trainer on real data: it learns, it is reproducible, and its options do what they say."""

from __future__ import annotations

import pytest
import torch

from athanor.data.prepare import prepare
from athanor.errors import UserError
from athanor.nets import build_network
from athanor.spec import load_spec
from athanor.training import Trainer
from athanor.training.callbacks import Callback, EarlyStopping


def setup(digits_raw, train: dict, model: dict | None = None, seed: int = 0):
    spec = load_spec(
        {
            "data": {"dataset": "digits", "split": {"val": 0.15, "test": 0.15}},
            "model": model or {"template": "mlp", "hidden": [64]},
            "train": train,
            "seed": seed,
        }
    )
    prepared = prepare(spec.data, spec.seed, raw=digits_raw)
    network = build_network(spec.model, prepared.schema, seed=spec.seed)
    return spec, prepared, network


def test_learns_digits_and_reports_every_metric(digits_raw) -> None:
    spec, prepared, network = setup(
        digits_raw, {"epochs": 10, "batch_size": 32, "optimizer": {"lr": 0.003}}
    )
    trainer = Trainer(spec.train, seed=spec.seed)
    result = trainer.fit(network, prepared)
    assert result.epochs_run == 10 and result.steps == 10 * -(-len(prepared.train) // 32)
    first, last = result.history[0], result.history[-1]
    assert set(last) >= {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"}
    assert last["train_loss"] < first["train_loss"] / 3
    assert last["val_accuracy"] > 0.93
    test = trainer.test(prepared)
    assert test["test_accuracy"] > 0.9 and set(test) == {"test_loss", "test_accuracy"}
    assert result.device == "cpu" and result.samples_per_second > 0


def test_same_seed_gives_identical_metrics_and_weights(digits_raw) -> None:
    runs = []
    for _ in range(2):
        spec, prepared, network = setup(
            digits_raw,
            {"epochs": 2, "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9}},
            model={"template": "mlp", "hidden": [32], "dropout": 0.3},
        )
        result = Trainer(spec.train, seed=spec.seed).fit(network, prepared)
        runs.append((result.history, network.state_dict()))
    (h1, w1), (h2, w2) = runs
    strip = [{k: v for k, v in e.items() if k != "epoch_seconds"} for e in h1]
    assert strip == [{k: v for k, v in e.items() if k != "epoch_seconds"} for e in h2]
    assert all(torch.equal(w1[k], w2[k]) for k in w1)


def test_early_stopping_stops_and_restores_the_best_epoch(digits_raw) -> None:
    # A learning rate this high makes validation loss jump around and worsen.
    spec, prepared, network = setup(
        digits_raw,
        {
            "epochs": 30,
            "optimizer": {"type": "sgd", "lr": 2.0},
            "early_stopping": {"monitor": "val_loss", "patience": 1},
        },
    )
    stopping = EarlyStopping(spec.train.early_stopping)
    trainer = Trainer(spec.train, seed=0, callbacks=[stopping])
    result = trainer.fit(network, prepared)
    assert result.epochs_run < 30 and "early stopping: val_loss did not improve" in (
        result.stop_reason
    )
    best = min(range(result.epochs_run), key=lambda i: result.history[i]["val_loss"])
    assert result.best_epoch == best + 1
    # stopped after epochs without improvement, so the best epoch's weights were put back
    assert stopping.restored_epoch == result.best_epoch < result.epochs_run
    from athanor.training.evaluation import evaluate_split

    now = evaluate_split(network, prepared.batches("val", 1024), trainer.loss_fn, [])
    assert now["val_loss"] == pytest.approx(result.history[best]["val_loss"], rel=1e-5)
    assert now["val_loss"] != pytest.approx(result.history[-1]["val_loss"], rel=1e-5)


def test_gradient_clipping_by_value_bounds_every_gradient(digits_raw) -> None:
    class MaxGrad(Callback):
        def __init__(self) -> None:
            self.largest = 0.0

        def on_after_optimizer_step(self, trainer, state) -> None:
            for p in trainer.module.parameters():
                self.largest = max(self.largest, p.grad.abs().max().item())

    spec, prepared, network = setup(
        digits_raw, {"epochs": 1, "clip_grad": {"value": 0.01}, "optimizer": {"lr": 0.1}}
    )
    probe = MaxGrad()
    Trainer(spec.train, seed=0, callbacks=[probe]).fit(network, prepared)
    assert 0 < probe.largest <= 0.01


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"type": "step", "every": 1, "gamma": 0.5}, [0.1, 0.05, 0.025]),
        ({"type": "exponential", "gamma": 0.9}, [0.1, 0.09, 0.081]),
    ],
)
def test_epoch_schedules(digits_raw, schedule: dict, expected: list[float]) -> None:
    spec, prepared, network = setup(
        digits_raw, {"epochs": 3, "optimizer": {"type": "sgd", "lr": 0.1}, "schedule": schedule}
    )
    result = Trainer(spec.train, seed=0).fit(network, prepared)
    assert [e["lr"] for e in result.history] == pytest.approx(expected)


def test_onecycle_warms_up_then_anneals(digits_raw) -> None:
    class Rates(Callback):
        def __init__(self) -> None:
            self.rates: list[float] = []

        def on_after_optimizer_step(self, trainer, state) -> None:
            self.rates.append(trainer.optimizer.param_groups[0]["lr"])

    spec, prepared, network = setup(
        digits_raw, {"epochs": 2, "schedule": {"type": "onecycle", "max_lr": 0.01}}
    )
    rates = Rates()
    Trainer(spec.train, seed=0, callbacks=[rates]).fit(network, prepared)
    peak = rates.rates.index(max(rates.rates))
    assert max(rates.rates) == pytest.approx(0.01, rel=0.05)
    assert 0 < peak < len(rates.rates) - 1 and rates.rates[-1] < 0.001


def test_hooks_fire_in_order(digits_raw) -> None:
    class Recorder(Callback):
        def __init__(self) -> None:
            self.calls: list[str] = []

        def __getattribute__(self, name: str):
            value = object.__getattribute__(self, name)
            if name.startswith("on_"):
                calls = object.__getattribute__(self, "calls")
                return lambda *a, **k: (calls.append(name), value(*a, **k))
            return value

    for hook in (
        "on_fit_start",
        "on_epoch_start",
        "on_batch_start",
        "on_before_backward",
        "on_after_optimizer_step",
        "on_batch_end",
        "on_validation_end",
        "on_epoch_end",
        "on_fit_end",
    ):
        setattr(Recorder, hook, lambda self, *a: None)
    spec, prepared, network = setup(digits_raw, {"epochs": 1, "batch_size": 1024})
    recorder = Recorder()
    Trainer(spec.train, seed=0, callbacks=[recorder]).fit(network, prepared)
    batch = ["on_batch_start", "on_before_backward", "on_after_optimizer_step", "on_batch_end"]
    steps = -(-len(prepared.train) // 1024)
    assert recorder.calls == [
        "on_fit_start",
        "on_epoch_start",
        *batch * steps,
        "on_validation_end",
        "on_epoch_end",
        "on_fit_end",
    ]


def test_on_exception_is_called_and_the_error_propagates(digits_raw) -> None:
    class Boom(Callback):
        seen: BaseException | None = None

        def on_batch_end(self, trainer, state, loss) -> None:
            raise RuntimeError("boom")

        def on_exception(self, trainer, state, error) -> None:
            Boom.seen = error

    spec, prepared, network = setup(digits_raw, {"epochs": 1})
    with pytest.raises(RuntimeError, match="boom"):
        Trainer(spec.train, seed=0, callbacks=[Boom()]).fit(network, prepared)
    assert isinstance(Boom.seen, RuntimeError)


def test_mistakes_that_only_the_data_reveals(digits_raw) -> None:
    spec, prepared, network = setup(digits_raw, {"loss": "mse"})
    with pytest.raises(UserError, match="train.loss: 'mse' does not fit classification"):
        Trainer(spec.train).fit(network, prepared)
    spec, prepared, network = setup(digits_raw, {"metrics": ["r2"]})
    with pytest.raises(UserError, match="train.metrics: 'r2' does not fit classification"):
        Trainer(spec.train).fit(network, prepared)
    spec, prepared, network = setup(digits_raw, {"early_stopping": {"monitor": "val_rmse"}})
    with pytest.raises(UserError, match="'val_rmse' is not computed for this run"):
        Trainer(spec.train).fit(network, prepared)


def test_unavailable_device_is_a_user_error() -> None:
    from athanor.training.devices import select_device

    assert select_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU is visible"):
            select_device("cuda")


def test_regression_on_diabetes() -> None:
    spec = load_spec(
        {
            "data": "diabetes",
            "model": {"template": "mlp", "hidden": [32]},
            "train": {"epochs": 60, "batch_size": 32, "optimizer": {"lr": 0.01}},
        }
    )
    prepared = prepare(spec.data, 0)
    network = build_network(spec.model, prepared.schema, seed=0)
    trainer = Trainer(spec.train, seed=0)
    result = trainer.fit(network, prepared)
    assert {"val_rmse", "val_mae", "val_r2"} <= set(result.history[-1])
    assert result.history[-1]["val_r2"] > 0.2  # far better than predicting the mean (r2 = 0)


class _StopAtEpochEnd(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer, state, metrics) -> None:
        if state.epoch + 1 == self.epoch:
            trainer.request_stop(f"stopped after epoch {self.epoch}")


def test_a_stop_asked_at_an_epoch_end_stops_there_with_a_checkpoint(digits_raw, tmp_path) -> None:
    spec, prepared, network = setup(digits_raw, {"epochs": 5, "batch_size": 64})
    trainer = Trainer(
        spec.train, seed=spec.seed, callbacks=[_StopAtEpochEnd(2)], checkpoint_dir=tmp_path
    )
    result = trainer.fit(network, prepared)
    per_epoch = -(-len(prepared.train) // 64)
    # not one step into epoch 3: exactly two epochs of steps, and a checkpoint at that point
    assert result.interrupted and result.stop_reason == "stopped after epoch 2"
    assert result.epochs_run == 2 and result.steps == 2 * per_epoch
    assert sorted(p.name for p in tmp_path.glob("step-*"))[-1] == f"step-{2 * per_epoch:09d}"
    # asked at the end of the last epoch, the run simply completes
    spec, prepared, network = setup(digits_raw, {"epochs": 2, "batch_size": 64})
    done = Trainer(spec.train, callbacks=[_StopAtEpochEnd(2)]).fit(network, prepared)
    assert not done.interrupted and done.epochs_run == 2


class _Counter(Callback):
    def __init__(self) -> None:
        self.count = 0

    def on_after_optimizer_step(self, trainer, state) -> None:
        self.count += 1

    def state_dict(self) -> dict:
        return {"count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.count = state["count"]


def test_callback_state_is_restored_by_key_whatever_the_order(digits_raw, tmp_path) -> None:
    spec, prepared, network = setup(digits_raw, {"epochs": 3, "batch_size": 256})
    first, second = _Counter(), _Counter()
    Trainer(spec.train, callbacks=[first, second, _StopAtEpochEnd(1)], checkpoint_dir=tmp_path).fit(
        network, prepared
    )
    per_epoch = -(-len(prepared.train) // 256)
    checkpoint = sorted(tmp_path.glob("step-*"))[-1]
    from athanor.training.checkpoint import load_checkpoint, save_checkpoint

    saved = load_checkpoint(checkpoint)
    assert saved["callbacks"]["_Counter"] == {"count": per_epoch}
    saved["callbacks"]["_Counter#2"] = {"count": per_epoch + 100}  # tell the two apart
    save_checkpoint(saved, checkpoint)

    # a new callback in front and the counters' class keys: each counter gets its own count
    a, b = _Counter(), _Counter()
    _, _, network = setup(digits_raw, {"epochs": 3, "batch_size": 256})
    resumed = Trainer(spec.train, callbacks=[_StopAtEpochEnd(99), a, b])
    resumed.fit(network, prepared, resume_from=checkpoint)
    assert (a.count, b.count) == (3 * per_epoch, 3 * per_epoch + 100)


def test_callback_state_of_positional_checkpoints_is_read_by_class_name(tmp_path) -> None:
    from athanor.spec.train import EarlyStoppingSpec
    from athanor.training.callbacks import CallbackList

    a, b = _Counter(), _Counter()
    callbacks = CallbackList([Callback(), a, b])
    assert callbacks.state_keys() == ["Callback", "_Counter", "_Counter#2"]
    callbacks.load_state_dict({"0:_Counter": {"count": 4}, "1:_Counter": {"count": 7}})
    assert (a.count, b.count) == (4, 7)
    # early stopping kept no state before it was keyed: such a checkpoint still loads
    stopping = EarlyStopping(EarlyStoppingSpec())
    CallbackList([Callback(), stopping]).load_state_dict({"0:Callback": {}, "1:EarlyStopping": {}})
    assert (stopping.best, stopping.wait) == (None, 0)


def test_nothing_held_out_trains_on_everything_and_refuses_validation_monitors() -> None:
    spec = load_spec(
        {
            "data": {"dataset": "xor", "split": "none", "normalize": "none"},
            "model": {"template": "mlp", "hidden": [8], "activation": "tanh"},
            "train": {
                "epochs": 30,
                "batch_size": 4,
                "optimizer": {"type": "adam", "lr": 0.1},
                "early_stopping": {"monitor": "val_loss", "patience": 2},
            },
        }
    )
    prepared = prepare(spec.data, spec.seed)
    network = build_network(spec.model, prepared.schema, seed=0)
    with pytest.raises(UserError, match="set data.split.val, or monitor the training split"):
        Trainer(spec.train, seed=0).fit(network, prepared)
    spec.train.early_stopping.monitor = "train_loss"
    fit = Trainer(spec.train, seed=0).fit(network, prepared)
    assert set(fit.history[-1]) >= {"train_loss", "train_accuracy"}
    assert not any(name.startswith("val_") for name in fit.history[-1])
