"""Shared fixtures: an isolated ATHANOR_HOME per test, the dataset mirror, no network."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

# A real local Ray cluster per module that asks for it (``ray_cluster``).
pytest_plugins = ["tests.ray_cluster"]

REPO = Path(__file__).resolve().parents[1]
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _mirror_dir() -> Path | None:
    configured = os.environ.get("ATHANOR_DATA_MIRROR")
    candidates = [Path(p) for p in configured.split(os.pathsep)] if configured else []
    candidates.append(REPO.parent / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return None


MIRROR = _mirror_dir()
if MIRROR is not None:
    # session-scoped fixtures are set up before the per-test home below, so they see the
    # mirror from here; the per-test fixture still sets (or removes) it for each test
    os.environ.setdefault("ATHANOR_DATA_MIRROR", str(MIRROR))

# One thread per process for PyTorch (here and in the subprocesses that inherit it), set
# before torch is first imported: the tests' models are tiny, so extra threads only spin,
# contending with the test's own platforms, workers and CLI processes on a 2-core machine.
# Jobs still set their own thread count from their CPU slots. An explicit value is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def athanor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Every test gets an empty home; the dataset mirror is visible when there is one."""
    home = tmp_path / "athanor-home"
    monkeypatch.setenv("ATHANOR_HOME", str(home))
    monkeypatch.delenv("ATHANOR_DB_URL", raising=False)
    monkeypatch.delenv("ATHANOR_ARTIFACTS_URL", raising=False)
    monkeypatch.setenv("ATHANOR_OFFLINE", "1")  # subprocesses too: never download in tests
    if MIRROR is not None:
        monkeypatch.setenv("ATHANOR_DATA_MIRROR", str(MIRROR))
    else:
        monkeypatch.delenv("ATHANOR_DATA_MIRROR", raising=False)
    yield home
    from athanor.store import dispose_engines

    dispose_engines()


@pytest.fixture(autouse=True)
def pillow_pixel_limit() -> Iterator[None]:
    """Decoding sets Pillow's process-wide pixel limit from ``ATHANOR_MAX_IMAGE_PIXELS``: a
    test that lowers it must not leave it low for the tests after it in the same process."""
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    yield
    Image.MAX_IMAGE_PIXELS = saved


def _loopback(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # unix sockets and the like
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse connections beyond loopback: tests never download anything."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            raise OSError(f"network access is blocked in tests (tried {address})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


POSTGRES_TEMPLATE = "athanor_template"
"""The migrated database that every test's PostgreSQL database is a copy of."""


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of this test session (initdb into a temporary folder, a loopback
    port), with a migrated template database that each test's database copies.

    Skips where none can be started; CI (``ATHANOR_REQUIRE_POSTGRES``) fails instead."""
    try:
        from sqlalchemy import create_engine

        from athanor.store.database import migrate
        from athanor.store.postgres_server import (
            FAST_SETTINGS,
            PostgresUnavailable,
            TemporaryPostgres,
        )

        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise PostgresUnavailable(
                "psycopg is not installed (pip install -e '.[postgres]')"
            ) from exc
        server = TemporaryPostgres(FAST_SETTINGS).start()
    except PostgresUnavailable as exc:
        message = f"no PostgreSQL server could be started: {exc}"
        if os.environ.get("ATHANOR_REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        server.create_database(POSTGRES_TEMPLATE)
        engine = create_engine(server.url(POSTGRES_TEMPLATE))
        migrate(engine)  # the Alembic migrations, on PostgreSQL
        engine.dispose()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server, athanor_home: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh, migrated PostgreSQL database for one test, named by ``ATHANOR_DB_URL``
    (subprocesses see it too); dropped after the test."""
    from athanor.store import dispose_engines

    name = postgres_server.create_database(template=POSTGRES_TEMPLATE)
    url = postgres_server.url(name)
    monkeypatch.setenv("ATHANOR_DB_URL", url)
    yield url
    dispose_engines()
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Runs a test on each metadata database: the embedded SQLite file and PostgreSQL.

    Use it as ``pytestmark = pytest.mark.usefixtures("backend")`` where the database matters."""
    if request.param == "postgresql":
        request.getfixturevalue("postgres_url")
    return request.param


S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "athanor-tests",
    "AWS_SECRET_ACCESS_KEY": "athanor-tests-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3 API server of this test session (moto's server mode on a loopback port);
    yields its endpoint URL. Skips where moto is not installed; CI
    (``ATHANOR_REQUIRE_S3``) fails instead."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        message = f"no S3 server could be started: moto[server] is not installed ({exc})"
        if os.environ.get("ATHANOR_REQUIRE_S3"):
            pytest.fail(message)
        pytest.skip(message)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty bucket on the session's S3 server, named by ``ATHANOR_ARTIFACTS_URL``
    (``s3://BUCKET/artifacts``) with the AWS environment that reaches it (subprocesses see
    them too)."""
    import urllib.request
    import uuid

    for name, value in {**S3_CREDENTIALS, "AWS_ENDPOINT_URL": s3_server}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = f"athanor-{uuid.uuid4().hex[:12]}"
    # S3's CreateBucket is a PUT of the bucket's path (moto takes it unsigned); a boto3
    # client would cost more than the rest of a short test
    request = urllib.request.Request(f"{s3_server}/{bucket}", method="PUT")
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
    url = f"s3://{bucket}/artifacts"
    monkeypatch.setenv("ATHANOR_ARTIFACTS_URL", url)
    return url


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline dataset folder with MNIST; CI requires it, elsewhere tests skip."""
    if MIRROR is not None and all((MIRROR / "mnist" / f).is_file() for f in MNIST_FILES):
        return MIRROR
    message = "MNIST is not in ATHANOR_DATA_MIRROR (nor in ../shared/data)"
    if os.environ.get("ATHANOR_REQUIRE_MIRROR"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def mnist_raw(mirror: Path, tmp_path_factory: pytest.TempPathFactory):
    """MNIST as loaded from the mirror (shared by the session; do not modify)."""
    from athanor.data.prepare import load_raw
    from athanor.settings import Settings

    home = tmp_path_factory.mktemp("mnist-home")
    return load_raw("mnist", Settings(home=home, db_url="sqlite://", data_mirrors=(mirror,)))


@pytest.fixture(scope="session")
def digits_raw():
    """scikit-learn's bundled 8x8 digits."""
    from athanor.data.prepare import load_raw

    return load_raw("digits")


def _train_into(home: Path, spec: dict, name: str):
    import athanor as at
    from athanor.settings import Settings

    settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    return at.train(spec, register_as=name, progress=False, settings=settings), settings


@pytest.fixture(scope="session")
def trained_digits(tmp_path_factory: pytest.TempPathFactory):
    """A small CNN trained on the 8x8 digits and registered as ``digits-cnn`` (own store)."""
    spec = {
        "name": "digits-cnn",
        "seed": 1,
        "data": {"dataset": "digits", "split": {"val": 0.1, "test": 0.2}},
        "model": {
            "layers": [
                {"conv2d": {"filters": 8, "padding": "same", "activation": "relu"}},
                {"maxpool": 2},
                "flatten",
                {"dense": 32},
            ]
        },
        "train": {"epochs": 15, "batch_size": 32, "optimizer": {"lr": 0.005}},
    }
    return _train_into(tmp_path_factory.mktemp("digits-home"), spec, "digits-cnn")


@pytest.fixture(scope="session")
def trained_iris(tmp_path_factory: pytest.TempPathFactory):
    """An MLP trained on iris (a table) and registered as ``iris-mlp`` (own store)."""
    spec = {
        "name": "iris-mlp",
        "data": {"dataset": "iris", "split": {"val": 0.2, "test": 0.2}},
        "model": {"template": "mlp", "hidden": [16]},
        "train": {"epochs": 60, "batch_size": 16, "optimizer": {"lr": 0.01}},
    }
    return _train_into(tmp_path_factory.mktemp("iris-home"), spec, "iris-mlp")


@pytest.fixture(scope="session")
def trained_houses(tmp_path_factory: pytest.TempPathFactory):
    """A small MLP on a slice of the California housing table (raw columns: a categorical
    ocean_proximity, missing total_bedrooms; the price target standardized by default),
    registered as ``houses-mlp`` (own store)."""
    spec = {
        "name": "houses-mlp",
        "seed": 2,
        "data": {
            "dataset": "california-housing",
            "split": {"val": 0.1, "test": 0.1},
            "subset": {"train": 3000, "val": 300, "test": 300},
        },
        "model": {"template": "mlp", "hidden": [16]},
        "train": {"epochs": 3, "batch_size": 64, "optimizer": {"lr": 0.005}},
    }
    if MIRROR is None or not (MIRROR / "california-housing" / "housing.csv").is_file():
        pytest.skip("California housing is not in ATHANOR_DATA_MIRROR (nor in ../shared/data)")
    home = tmp_path_factory.mktemp("houses-home")
    import athanor as at
    from athanor.settings import Settings

    settings = Settings(
        home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=(MIRROR,)
    )
    return at.train(spec, register_as="houses-mlp", progress=False, settings=settings), settings


def housing_rows(count: int, seed: int = 0) -> list[dict[str, str]]:
    """``count`` rows of the mirror's California housing CSV as they are (text cells)."""
    import csv
    import random

    assert MIRROR is not None
    with (MIRROR / "california-housing" / "housing.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return random.Random(seed).sample(rows, count)


def write_labeled_text(folder: Path, per_class: int = 150, words: int = 25) -> Path:
    """A text classification folder of real text: ``play/`` holds passages of Tiny
    Shakespeare (from the mirror), ``manual/`` passages of scikit-learn's bundled dataset
    descriptions; ``words`` words per document, ``per_class`` documents per class."""
    from importlib import resources

    from athanor.data.prepare import load_raw

    play = (load_raw("tinyshakespeare").text or "").split()
    descriptions = resources.files("sklearn.datasets") / "descr"
    manual = " ".join(
        entry.read_text(encoding="utf-8")
        for entry in sorted(descriptions.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".rst")
    ).split()
    for label, tokens in (("play", play), ("manual", manual)):
        (folder / label).mkdir(parents=True)
        count = min(per_class, len(tokens) // words)
        for index in range(count):
            passage = " ".join(tokens[index * words : (index + 1) * words])
            (folder / label / f"{index:04d}.txt").write_text(passage + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def labeled_text(tmp_path: Path, mirror: Path) -> Path:
    """A folder of class subfolders of real text documents (see write_labeled_text)."""
    return write_labeled_text(tmp_path / "passages")


@pytest.fixture(scope="session")
def trained_text(mirror: Path, tmp_path_factory: pytest.TempPathFactory):
    """A text_classifier trained on write_labeled_text's passages, registered as
    ``passages-rnn`` in a store of its own; returns the run and the settings."""
    from athanor.data.importing import import_dataset
    from athanor.settings import Settings

    home = tmp_path_factory.mktemp("text-home")
    settings = Settings(
        home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=(mirror,)
    )
    folder = write_labeled_text(tmp_path_factory.mktemp("text-data") / "passages")
    import_dataset(folder, name="passages", settings=settings)
    spec = {
        "name": "passages-rnn",
        "seed": 0,
        "data": {
            "dataset": "passages",
            "split": {"val": 0.15, "test": 0.2},
            "text": {"level": "word", "lowercase": True},
        },
        "model": {"template": "text_classifier", "cell": "gru", "units": 32, "embedding_dim": 32},
        "train": {"epochs": 8, "batch_size": 32, "optimizer": {"lr": 0.005}},
    }
    import athanor as at

    run = at.train(spec, register_as="passages-rnn", progress=False, settings=settings)
    return run, settings


@pytest.fixture(scope="session")
def trained_generators(mirror: Path, tmp_path_factory: pytest.TempPathFactory):
    """Generative models in one store of their own, each trained for one short epoch:
    ``shakes-char`` (a character char-RNN on Tiny Shakespeare from the mirror),
    ``shakes-words`` (a word char-RNN with a 60-word vocabulary, so that most words of the
    text are ``<unk>``) and ``digits-gan`` (a DCGAN on the 8x8 digits). Returns the settings."""
    import athanor as at
    from athanor.settings import Settings

    home = tmp_path_factory.mktemp("generators-home")
    settings = Settings(
        home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=(mirror,)
    )
    language_model = {
        "seed": 3,
        "data": {
            "dataset": "tinyshakespeare",
            "split": {"val": 0.05, "test": 0.05},
            "subset": {"train": 200, "val": 10, "test": 10},
        },
        "model": {"template": "char_rnn", "units": 32, "layers": 1, "embedding_dim": 16},
        "train": {"epochs": 1, "batch_size": 32, "optimizer": {"type": "adam", "lr": 0.01}},
    }
    char = {**language_model, "name": "shakes-char"}
    char["data"] = {**language_model["data"], "text": {"level": "char", "length": 64}}
    words = {**language_model, "name": "shakes-words"}
    words["data"] = {
        **language_model["data"],
        "text": {"level": "word", "length": 16, "max_vocab": 60},
    }
    gan = {
        "name": "digits-gan",
        "seed": 3,
        "data": {"dataset": "digits", "task": "generation", "subset": {"train": 256}},
        "model": {
            "template": "dcgan",
            "latent_dim": 8,
            "generator_width": 8,
            "discriminator_width": 8,
        },
        "train": {"epochs": 1, "batch_size": 64, "gan": {"grid": 4}},
    }
    for spec in (char, words, gan):
        at.train(spec, register_as=spec["name"], progress=False, settings=settings)
    return settings


@pytest.fixture(scope="session")
def nab_mirror() -> Path:
    """The mirror's NAB folder (realKnownCause series and labeled windows)."""
    if MIRROR is None or not (MIRROR / "nab" / "labels" / "combined_windows.json").is_file():
        message = "NAB is not in ATHANOR_DATA_MIRROR (nor in ../shared/data)"
        if os.environ.get("ATHANOR_REQUIRE_MIRROR"):
            pytest.fail(message)
        pytest.skip(message)
    return MIRROR / "nab"


@pytest.fixture(scope="session")
def trained_nab_detector(nab_mirror: Path, tmp_path_factory: pytest.TempPathFactory):
    """A tiny LSTM autoencoder on NAB's rogue_agent_key_hold (1,882 steps, one short epoch),
    registered as ``keys-ae`` in a store of its own; returns the run and the settings."""
    from athanor.settings import Settings

    home = tmp_path_factory.mktemp("nab-home")
    settings = Settings(
        home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=(nab_mirror.parent,)
    )
    import athanor as at

    run = at.train(
        "autoencoder-nab",
        {
            "data.series": "rogue_agent_key_hold",
            "data.window.length": 32,
            "model.units": 8,
            "model.latent": 4,
            "train.epochs": 1,
        },
        register_as="keys-ae",
        progress=False,
        settings=settings,
    )
    return run, settings


@pytest.fixture(scope="session")
def trained_sunspots_forecaster(tmp_path_factory: pytest.TempPathFactory):
    """A tiny LSTM forecaster of yearly sunspots (3 years ahead from 24), registered as
    ``spots`` in a store of its own; returns the run and the settings."""
    home = tmp_path_factory.mktemp("sunspots-home")
    spec = {
        "name": "spots",
        "seed": 7,
        "data": {
            "dataset": "sunspots",
            "split": {"val": 0.15, "test": 0.15},
            "window": {"length": 24, "horizon": 3},
        },
        "model": {"template": "lstm_forecaster", "units": 8},
        "train": {"epochs": 2, "batch_size": 16, "loss": "mae"},
    }
    return _train_into(home, spec, "spots")


def write_sunspots_csv(path: Path) -> Path:
    """The yearly sunspot numbers as a series CSV (``year,SUNACTIVITY``)."""
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data
    lines = ["year,SUNACTIVITY"] + [
        f"{int(year):04d}-01-01,{value}"
        for year, value in zip(frame["YEAR"], frame["SUNACTIVITY"], strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


DETECTOR_SPEC = {
    "name": "digit-boxes",
    "seed": 3,
    "data": {
        "dataset": "digits-detection",
        "split": {"val": 16},
        "subset": {"train": 64, "val": 16, "test": 16},
        "image": {"size": [48, 48], "augment": {"scale": 0.1, "crop": 2}},
    },
    "model": {"template": "centernet", "width": 8, "depth": 2, "convs": 0, "head_width": 16},
    "train": {"epochs": 1, "batch_size": 16, "optimizer": {"type": "adam", "lr": 0.003}},
}


@pytest.fixture(scope="session")
def trained_detector(mirror: Path, tmp_path_factory: pytest.TempPathFactory):
    """A tiny CenterNet trained one epoch on 64 digits-detection canvases (48 px) and
    registered as ``digit-boxes`` (own store): fast, not accurate."""
    import athanor as at
    from athanor.settings import Settings

    home = tmp_path_factory.mktemp("detector-home")
    settings = Settings(
        home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=(mirror,)
    )
    run = at.train(DETECTOR_SPEC, register_as="digit-boxes", progress=False, settings=settings)
    return run, settings


@pytest.fixture(scope="session")
def trained_log_model(tmp_path_factory: pytest.TempPathFactory):
    """A tiny log_lstm on loghub's raw HDFS_2k lines (templates mined with Drain, sessions by
    block), registered as ``hdfs-logs`` in a store of its own; returns the run, the
    settings and the raw log's path."""
    if MIRROR is None or not (MIRROR / "hdfs-logs" / "loghub" / "HDFS_2k.log").is_file():
        pytest.skip("HDFS logs are not in ATHANOR_DATA_MIRROR (nor in ../shared/data)")
    import athanor as at
    from athanor.data.importing import import_dataset
    from athanor.data.log_lines import HDFS_FORMAT
    from athanor.settings import Settings

    home = tmp_path_factory.mktemp("logs-home")
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    log = MIRROR / "hdfs-logs" / "loghub" / "HDFS_2k.log"
    import_dataset(log, name="hdfs", log_format=HDFS_FORMAT, settings=settings)
    spec = {
        "name": "hdfs-logs",
        "seed": 1,
        "data": {"dataset": "hdfs", "split": {"val": 0.2, "test": 0.1}, "log": {"window": 3}},
        "model": {"template": "log_lstm", "units": 8, "layers": 1, "embedding_dim": 4},
        "train": {"epochs": 2, "batch_size": 64, "optimizer": {"type": "adam", "lr": 0.02}},
    }
    run = at.train(spec, register_as="hdfs-logs", progress=False, settings=settings)
    return run, settings, log
