"""Small classic datasets that ship inside scikit-learn (no download ever)."""

from __future__ import annotations

import numpy as np

from athanor.data.catalog import DatasetEntry, register_dataset
from athanor.data.raw import RawDataset
from athanor.settings import Settings


def _digits(_settings: Settings | None) -> RawDataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # Pixel intensities are 0..16; scale to the 0..255 range of every image dataset.
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None, :, :]
    return RawDataset(
        name="digits",
        kind="image",
        task="classification",
        x=images,
        y=bunch.target.astype(np.int64),
        classes=[str(c) for c in bunch.target_names],
        origin={"digits": "bundled with scikit-learn"},
    )


def _table(name: str, loader_name: str, task: str, target: str):
    def load(_settings: Settings | None) -> RawDataset:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader_name)()
        classification = task == "classification"
        return RawDataset(
            name=name,
            kind="tabular",
            task="classification" if classification else "regression",
            x=np.asarray(bunch.data, dtype=np.float32),
            y=bunch.target.astype(np.int64 if classification else np.float32),
            classes=[str(c) for c in bunch.target_names] if classification else None,
            features=[str(f) for f in bunch.feature_names],
            target=target,
            origin={name: "bundled with scikit-learn"},
        )

    return load


register_dataset(
    DatasetEntry(
        name="digits",
        task="classification",
        kind="image",
        size="1,797 images, 1x8x8, 10 classes",
        license="CC BY 4.0 (UCI ML repository)",
        source="https://archive.ics.uci.edu/dataset/80",
        description="Handwritten digits at 8x8, bundled with scikit-learn.",
        loader=_digits,
    )
)
for _name, _loader, _task, _target, _size, _license, _source, _description in (
    (
        "iris",
        "load_iris",
        "classification",
        "species",
        "150 rows, 4 features, 3 classes",
        "CC BY 4.0 (UCI)",
        "https://archive.ics.uci.edu/dataset/53",
        "Iris flower species from petal and sepal sizes.",
    ),
    (
        "wine",
        "load_wine",
        "classification",
        "cultivar",
        "178 rows, 13 features, 3 classes",
        "CC BY 4.0 (UCI)",
        "https://archive.ics.uci.edu/dataset/109",
        "Wine cultivar from chemical analysis.",
    ),
    (
        "breast-cancer",
        "load_breast_cancer",
        "classification",
        "diagnosis",
        "569 rows, 30 features, 2 classes",
        "CC BY 4.0 (UCI)",
        "https://archive.ics.uci.edu/dataset/17",
        "Malignant vs benign tumours (Wisconsin).",
    ),
    (
        "diabetes",
        "load_diabetes",
        "regression",
        "progression",
        "442 rows, 10 features, 1 target",
        "public (Efron et al., 2004)",
        "https://www4.stat.ncsu.edu/~boos/var.select/diabetes.html",
        "Disease progression one year after baseline.",
    ),
):
    register_dataset(
        DatasetEntry(
            name=_name,
            task=_task,  # type: ignore[arg-type]
            kind="tabular",
            size=_size,
            license=_license,
            source=_source,
            description=_description,
            loader=_table(_name, _loader, _task, _target),
        )
    )
