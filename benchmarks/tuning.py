"""Time to a target validation metric: random search with ASHA pruning vs without pruning.

Both sides run ``athanor.tune`` on the same search space (an MLP for California housing:
layer sizes, dropout, batch size, learning rate and weight decay), with the random sampler
and the same seed, so that they draw the same configurations in the same order, and the
same wall-clock budget. The only difference is the pruner: ASHA (successive halving,
reduction factor 3, rungs at 1, 3 and 9 epochs) or none. The figure is the time from the
start of the search until a trial *finishes* (a usable model) with a validation RMSE at or
below the target, in dollars, as Athanor reports regression metrics ($52,000 by default: the
best configurations of this space reach $50,000-$52,000, a linear regression about $69,000);
other targets ($56,000, $54,000, $51,000) are reported too. Trials are ranked on the
validation split only. Anchor:
Li et al., "A System for Massively Parallel Hyperparameter Tuning" (ASHA, MLSys 2020), where
ASHA finds good configurations several times faster than random search.

    .venv/bin/python benchmarks/tuning.py                       # 3 seeds, 150 s per side
    .venv/bin/python benchmarks/tuning.py --seeds 1 --budget 20 --epochs 3 --target 70000
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import torch

SPACE: dict[str, Any] = {
    "name": "housing-bench",
    "data": {
        "dataset": "california-housing",
        "split": {"val": 0.15, "test": 0.15},
        "scale_target": "standard",
    },
    "model": {
        "template": "mlp",
        "hidden": {"choice": [[32], [64], [128, 64], [256, 128]]},
        "dropout": {"uniform": [0.0, 0.5]},
    },
    "train": {
        "epochs": 27,
        "batch_size": {"choice": [64, 128, 256]},
        "optimizer": {
            "type": "adamw",
            "lr": {"loguniform": [1.0e-5, 1.0e-1]},
            "weight_decay": {"loguniform": [1.0e-6, 1.0e-1]},
        },
        "checkpoint": {"enabled": False},  # the same on both sides; not what is measured
    },
}


def _settings(home: Path):
    from athanor.settings import current_settings

    base = current_settings()
    return type(base)(
        home=home,
        db_url=f"sqlite:///{home / 'athanor.db'}",
        data_mirrors=base.data_mirrors,
        offline=base.offline,
    )


def _run(pruner: str, seed: int, budget: float, epochs: int) -> dict[str, Any]:
    import athanor as at
    from athanor.tuning.study import close_storages, load_search_study

    spec = {**SPACE, "seed": seed, "train": {**SPACE["train"], "epochs": epochs}}
    with tempfile.TemporaryDirectory(prefix="athanor-bench-") as folder:
        settings = _settings(Path(folder))
        result = at.tune(
            spec,
            trials=10_000,
            budget=budget,
            sampler="random",
            pruner={"type": pruner, "min_epochs": 1, "reduction_factor": 3}
            if pruner == "asha"
            else pruner,
            metric="val_rmse",
            progress=False,
            settings=settings,
        )
        trials = load_search_study(result.id, settings).get_trials()
        close_storages()
    start = min(t.datetime_start for t in trials if t.datetime_start is not None)
    finished = sorted(
        ((t.datetime_complete - start).total_seconds(), t.value)
        for t in trials
        if t.state.name == "COMPLETE" and t.value is not None
    )
    return {
        "finished": finished,
        "trials": len(trials),
        "pruned": sum(t.state.name == "PRUNED" for t in trials),
    }


def _to_target(run: dict[str, Any], target: float) -> float:
    """Seconds until a finished trial reached ``target`` (inf: not within the budget)."""
    return next((t for t, value in run["finished"] if value <= target), math.inf)


def _warm_up() -> None:
    """Import, load and train once, so that neither side pays the first-run costs."""
    import athanor as at

    with tempfile.TemporaryDirectory(prefix="athanor-bench-") as folder:
        spec = {
            **SPACE,
            "model": {"template": "mlp", "hidden": [32]},
            "train": {"epochs": 1, "batch_size": 256, "checkpoint": {"enabled": False}},
        }
        at.train(spec, progress=False, settings=_settings(Path(folder)), evaluate_test=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="searches per side (seeds 0..N-1)")
    parser.add_argument("--budget", type=float, default=150.0, help="seconds per search")
    parser.add_argument("--epochs", type=int, default=27, help="epochs of a full trial")
    parser.add_argument(
        "--target",
        type=float,
        default=52_000.0,
        help="validation RMSE to reach, in dollars (the best of this space: 50,000-52,000)",
    )
    parser.add_argument(
        "--also",
        default="56000,54000,51000",
        help="other targets also reported (comma-separated)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"machine: {os.cpu_count()} CPU threads (torch uses {args.threads}), torch "
        f"{torch.__version__}; may be shared with other work"
    )
    print(
        f"search: California housing MLP, random sampler, {args.epochs} epochs per full trial, "
        f"{args.budget:.0f} s per search, target val_rmse <= ${args.target:,.0f}"
    )
    _warm_up()
    rows = []
    for seed in range(args.seeds):
        row: dict[str, Any] = {"seed": seed}
        for pruner in ("none", "asha"):
            row[pruner] = _run(pruner, seed, args.budget, args.epochs)
        rows.append(row)
        none, asha = row["none"], row["asha"]
        print(
            f"seed {seed}: no pruning {len(none['finished'])} trials finished of "
            f"{none['trials']}, best {_best(none)}; ASHA {len(asha['finished'])} finished, "
            f"{asha['pruned']} pruned of {asha['trials']}, best {_best(asha)}",
            flush=True,
        )
    targets = [args.target] + [float(t) for t in args.also.split(",") if t.strip()]
    for target in targets:
        print()
        print(f"time to a finished trial with val_rmse <= ${target:,.0f}:")
        print()
        print("| seed | no pruning (s) | ASHA (s) | speed-up |")
        print("|---|---|---|---|")
        ratios: list[tuple[float, str]] = []
        for r in rows:
            none, asha = _to_target(r["none"], target), _to_target(r["asha"], target)
            ratio = _speedup(none, asha, args.budget)
            ratios.append(ratio)
            print(f"| {r['seed']} | {_time(none)} | {_time(asha)} | {_ratio(*ratio)} |")
        counted = [
            (r, x, kind) for r, (x, kind) in zip(rows, ratios, strict=True) if kind != "both missed"
        ]
        if counted:
            geomean = math.exp(statistics.fmean(math.log(x) for _, x, _ in counted))
            lower = [r["seed"] for r, _, kind in counted if kind == ">="]
            upper = [r["seed"] for r, _, kind in counted if kind == "<="]
            notes = []
            if lower:
                notes.append(f"seed(s) {lower}: no pruning missed the target, a lower bound")
            if upper:
                notes.append(f"seed(s) {upper}: ASHA missed the target, an upper bound")
            print(
                f"\ngeometric mean speed-up over {len(counted)} seed(s): {geomean:.2f}x"
                + (f" ({'; '.join(notes)})" if notes else "")
            )


def _best(run: dict[str, Any]) -> str:
    values = [value for _, value in run["finished"]]
    return f"${min(values):,.0f}" if values else "none"


def _speedup(none: float, asha: float, budget: float) -> tuple[float, str]:
    """(none / asha, "=" exact, ">=" or "<=" a bound): a side that missed the target counts
    as the whole budget."""
    if not math.isfinite(asha) and not math.isfinite(none):
        return 1.0, "both missed"
    if not math.isfinite(asha):
        return none / budget, "<="
    if not math.isfinite(none):
        return budget / asha, ">="
    return none / asha, "="


def _time(seconds: float) -> str:
    return f"{seconds:.1f}" if math.isfinite(seconds) else "not reached"


def _ratio(ratio: float, kind: str = "=") -> str:
    if kind == "both missed":
        return "both missed"
    return f"{ratio:.2f}x" if kind == "=" else f"{kind} {ratio:.2f}x"


if __name__ == "__main__":
    main()
