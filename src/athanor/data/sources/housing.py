"""House-price regression tables: California (1990 census) and Boston (1978)."""

from __future__ import annotations

from athanor.data.catalog import DatasetEntry, register_dataset
from athanor.data.download import RemoteFile, fetch
from athanor.data.raw import RawDataset
from athanor.data.tables import read_delimited
from athanor.settings import Settings

CALIFORNIA_HOUSING = RemoteFile(
    "housing.csv",
    ("https://raw.githubusercontent.com/ageron/handson-ml2/master/datasets/housing/housing.csv",),
    "8a3727f4cf54ac1a327f69b1d5b4db54c5834ea81c6e4efc0d163300022a685e",
    folder="california-housing",
)
BOSTON_HOUSING = RemoteFile(
    "BostonHousing.csv",
    ("https://raw.githubusercontent.com/selva86/datasets/master/BostonHousing.csv",),
    "ab16ba38fbbbbcc69fe930aab1293104f1442c8279c130d9eba03dd864bef675",
    folder="boston-housing",
)


def load_csv_table(
    name: str, remote: RemoteFile, target: str, settings: Settings | None
) -> RawDataset:
    """A catalog table: typed columns, ``target`` chosen when the dataset is prepared."""
    path = fetch(remote, settings=settings)
    table, _problems = read_delimited(path)
    return RawDataset(
        name=name,
        kind="tabular",
        task="regression",
        x=table,
        y=None,
        features=table.names,
        target=target,
        origin={remote.name: str(path)},
    )


register_dataset(
    DatasetEntry(
        name="california-housing",
        task="regression",
        kind="tabular",
        size="20,640 rows, 9 features (1 categorical, missing values), 1 target",
        license="public (StatLib; Pace & Barry, 1997)",
        source="https://github.com/ageron/handson-ml2/tree/master/datasets/housing",
        description="Median house value of California districts from the 1990 census.",
        loader=lambda settings: load_csv_table(
            "california-housing", CALIFORNIA_HOUSING, "median_house_value", settings
        ),
    )
)
register_dataset(
    DatasetEntry(
        name="boston-housing",
        task="regression",
        kind="tabular",
        size="506 rows, 13 features, 1 target",
        license="public (Harrison & Rubinfeld, 1978)",
        source="https://github.com/selva86/datasets/blob/master/BostonHousing.csv",
        description="Median home value (medv) of Boston suburbs; the classic teaching "
        "regression (its feature 'b' encodes race: a known ethical problem).",
        loader=lambda settings: load_csv_table("boston-housing", BOSTON_HOUSING, "medv", settings),
    )
)
