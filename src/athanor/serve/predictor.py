"""A trained model ready to predict: network, preprocessing and labels from a package."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from athanor.data.preprocessing import Preprocessor
from athanor.data.schema import Schema
from athanor.errors import PredictionInputError
from athanor.registry.network import rebuild_network
from athanor.registry.package import ModelPackage, load_package
from athanor.serve.inputs import (
    IMAGE_SUFFIXES,
    TEXT_SUFFIXES,
    decode_image,
    read_csv_rows,
    read_table_rows,
    read_text_file,
)

if TYPE_CHECKING:
    from athanor.serve.generation import GeneratedImages, GeneratedText


@dataclass
class Prediction:
    """One sample's prediction: a class with probabilities, regression values, or boxes."""

    label: str | None = None
    probability: float | None = None
    probabilities: dict[str, float] | None = None
    values: list[Any] | None = None
    boxes: list[dict[str, Any]] | None = None
    """Detectors: ``{"label", "class", "score", "xyxy"}`` per box, best first."""

    def to_json(self) -> dict[str, Any]:
        if self.boxes is not None:
            return {"boxes": self.boxes}
        if self.values is not None:
            return {"values": self.values}
        return {
            "label": self.label,
            "probability": self.probability,
            "probabilities": self.probabilities,
        }


class Predictor:
    """Applies a package's preprocessing and network to raw inputs.

    Build one with :meth:`from_package` or ``athanor.models.load("name[@version]")``.
    """

    def __init__(
        self,
        network: torch.nn.Module,
        schema: Schema,
        preprocessor: Preprocessor,
        metadata: dict[str, Any],
        *,
        device: str | torch.device = "cpu",
        ref: str | None = None,
        graph: Path | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.network = network.to(self.device).eval()
        self.schema = schema
        self.preprocessor = preprocessor
        self.metadata = metadata
        self.ref = ref
        self.graph = graph
        """An INT8 version's ONNX graph, which predicts instead of ``network`` (on the CPU,
        in ONNX Runtime); ``None`` for the others."""
        self._graph_session: Any = None

    @classmethod
    def from_package(
        cls,
        package: ModelPackage | Path | str,
        *,
        expected_hash: str | None = None,
        device: str | torch.device = "cpu",
        ref: str | None = None,
    ) -> Predictor:
        """Rebuild the network from the package's spec and load its verified weights."""
        if not isinstance(package, ModelPackage):
            package = load_package(Path(package), expected_hash=expected_hash)
        metadata = package.metadata
        network, schema = rebuild_network(package)
        preprocessor = Preprocessor.from_json(metadata["preprocessing"])
        return cls(
            network,
            schema,
            preprocessor,
            metadata,
            device=device,
            ref=ref,
            graph=package.graph_path,
        )

    @property
    def classes(self) -> list[str] | None:
        return self.schema.classes

    def to_raw(self, inputs: Any) -> np.ndarray:
        """Stack ``inputs`` into a raw batch ``[N, *input shape]``.

        Accepts an array or tensor (one sample or a batch; grey images may omit the channel),
        image files or PIL images (image models), CSV files (any model), or a list of rows
        given as sequences or ``{feature: value}`` mappings (table models). Models over
        tokens also take strings (the texts) and ``Path`` objects of ``.txt`` files.

        Raises:
            PredictionInputError: inputs that do not match the model's input schema, or a
                generative model (language model, GAN), which answers :meth:`generate`.
        """
        self.require_predictive()
        if self.schema.input.columns:
            return self._table_to_raw(inputs)
        if self.schema.input.kind == "tokens" and (
            isinstance(inputs, str | Path)
            or (isinstance(inputs, Sequence) and inputs and isinstance(inputs[0], str | Path))
        ):
            # Strings are the texts themselves; Path objects are text files to read.
            items = [inputs] if isinstance(inputs, str | Path) else list(inputs)
            return [_text_of(item, number) for number, item in enumerate(items)]  # type: ignore[return-value]
        shape = tuple(self.schema.input.shape)
        if isinstance(inputs, torch.Tensor):
            inputs = inputs.detach().cpu().numpy()
        if isinstance(inputs, np.ndarray):
            return self._check_array(inputs, shape)
        if isinstance(inputs, str | Path) or not isinstance(inputs, Sequence):
            inputs = [inputs]
        samples: list[np.ndarray] = []
        for index, item in enumerate(inputs):
            samples.extend(self._item_to_raw(item, index, shape))
        if not samples:
            raise PredictionInputError("no inputs to predict")
        return np.stack(samples)

    def _table_to_raw(self, inputs: Any) -> Any:
        """Rows of a table model (typed columns, categories, missing cells) as a TableData."""
        from athanor.data.tables import TableData, rows_to_table

        columns = self.schema.input.columns or []
        if isinstance(inputs, TableData):
            return inputs
        if isinstance(inputs, str | Path | dict):
            inputs = [inputs]
        if isinstance(inputs, np.ndarray) and inputs.ndim == 1:
            inputs = [inputs]
        rows: list[Any] = []
        for item in inputs:
            if isinstance(item, str | Path):
                path = Path(item)
                if path.suffix.lower() not in (".csv", ".tsv"):
                    raise PredictionInputError(
                        f"{path}: unsupported input file; this model takes CSV files of rows"
                    )
                table, _labels = read_table_rows(path, self.schema)
                rows.extend(
                    {c.name: table.values[c.name][i] for c in columns} for i in range(len(table))
                )
            else:
                rows.append(item)
        if not rows:
            raise PredictionInputError("no inputs to predict")
        return rows_to_table(rows, columns, "input")

    def _item_to_raw(self, item: Any, index: int, shape: tuple[int, ...]) -> list[np.ndarray]:
        kind = self.schema.input.kind
        if isinstance(item, str | Path):
            path = Path(item)
            if path.suffix.lower() == ".csv":
                rows, _labels = read_csv_rows(path, self.schema)
                return list(rows.reshape(len(rows), *shape))
            if kind == "image" and path.suffix.lower() in IMAGE_SUFFIXES:
                return [decode_image(path, self.schema, name=str(path))]
            valid = "PNG/JPEG/BMP/WebP images or CSV files" if kind == "image" else "CSV files"
            raise PredictionInputError(f"{path}: unsupported input file; this model takes {valid}")
        if kind == "image" and type(item).__module__.startswith("PIL."):
            return [decode_image(item, self.schema, name=f"input {index}")]
        if isinstance(item, dict):
            features = self.schema.input.features or []
            if not features:
                raise PredictionInputError(
                    f"input {index}: this model takes {self.schema.input.kind} inputs "
                    f"{self.schema.input.shape}, not rows of named features"
                )
            missing = [f for f in features if f not in item]
            if missing:
                raise PredictionInputError(
                    f"input {index}: missing feature(s) {', '.join(missing)}"
                )
            values = np.empty(len(features), dtype=np.float32)
            for position, feature in enumerate(features):
                try:
                    values[position] = float(item[feature])
                except (TypeError, ValueError):
                    raise PredictionInputError(
                        f"input {index}: feature {feature}: {item[feature]!r} is not a number"
                    ) from None
            return [values]
        array = np.asarray(item)
        return list(self._check_array(array, shape, label=f"input {index}"))

    def _check_array(
        self, array: np.ndarray, shape: tuple[int, ...], label: str = "input"
    ) -> np.ndarray:
        if array.dtype.kind not in "biuf":
            raise PredictionInputError(f"{label}: expected numbers, got {array.dtype}")
        if tuple(array.shape) == shape:
            array = array[None]
        elif len(shape) == 3 and shape[0] == 1 and tuple(array.shape[-2:]) == shape[1:]:
            array = array.reshape(-1, *shape)  # grey images without a channel axis
        if tuple(array.shape[1:]) != shape:
            raise PredictionInputError(
                f"{label}: shape {list(array.shape)} does not fit the model's input "
                f"{list(shape)} (one sample) or [N, {', '.join(map(str, shape))}] (a batch)"
            )
        if self.schema.input.kind == "tokens":
            vocab = len(self.schema.input.vocab or [])
            if array.dtype.kind not in "iu" or (
                array.size and (array.min() < 0 or array.max() >= vocab)
            ):
                raise PredictionInputError(
                    f"{label}: token indices must be whole numbers from 0 to {vocab - 1}"
                )
        elif array.dtype.kind == "f" and not np.isfinite(array).all():
            raise PredictionInputError(f"{label}: contains NaN or infinite values")
        return array

    def text_to_raw(self, texts: Sequence[str]) -> list[str]:
        """Texts for a model over tokens, as :meth:`scores` takes them: the model's own saved
        tokenizer (characters or words, its vocabulary) encodes them.

        Raises:
            PredictionInputError: a model that takes no text, or an input that is not text.
        """
        self.require_predictive()
        schema = self.schema.input
        if schema.kind != "tokens" or not schema.vocab:
            raise PredictionInputError(
                f"this model takes {schema.kind} inputs {schema.shape}, not text"
            )
        for number, text in enumerate(texts):
            if not isinstance(text, str):
                raise PredictionInputError(
                    f"input {number}: expected text, got {type(text).__name__}"
                )
        return list(texts)

    @torch.inference_mode()
    def scores(
        self, raw: np.ndarray, network: Callable[[torch.Tensor], torch.Tensor] | None = None
    ) -> np.ndarray:
        """Preprocess a raw batch (as :meth:`to_raw` gives) and run the network on it.

        Args:
            raw: the batch.
            network: what runs in the network's place (e.g. a compiled form of it); default
                the network.

        Returns:
            Class probabilities ``[N, classes]`` (classification) or values.
        """
        self.require_predictive()
        if self.graph is not None:
            outputs = torch.from_numpy(self.run_graph(self.preprocessor.transform(raw).numpy()))
        else:
            outputs = (network or self.network)(self.preprocessor.transform(raw).to(self.device))
        if self.schema.task == "classification" and self.schema.single_logit:
            positive = torch.sigmoid(outputs.float().reshape(-1))
            outputs = torch.stack([1 - positive, positive], dim=1)
        elif self.schema.task == "classification":
            outputs = torch.softmax(outputs.float(), dim=1)
        elif self.preprocessor.target_steps:
            outputs = self.preprocessor.inverse_target(outputs.float())
        return outputs.float().cpu().numpy()

    def run_graph(self, x: np.ndarray) -> np.ndarray:
        """The ONNX graph's outputs for a preprocessed batch (INT8 versions only)."""
        if self._graph_session is None:
            import onnxruntime

            self._graph_session = onnxruntime.InferenceSession(
                str(self.graph), providers=["CPUExecutionProvider"]
            )
        from athanor.registry.signature import INPUT_NAME

        (outputs,) = self._graph_session.run(None, {INPUT_NAME: x})
        return outputs

    def require_predictive(self) -> None:
        """Refuse to predict with a generative model, pointing to :meth:`generate`.

        Raises:
            GenerativeModelError: the model is a language model or a GAN.
        """
        from athanor.serve.generation import refuse_prediction

        refuse_prediction(self.schema, self.ref)

    def generate(
        self,
        prompt: str = "",
        *,
        length: int = 200,
        temperature: float = 0.8,
        top_k: int | None = None,
        seed: int | None = None,
        n: int = 16,
    ) -> GeneratedText | GeneratedImages:
        """Generate text (language models) or images (GANs).

        Args:
            prompt: text to continue, in the model's vocabulary (language models; default
                empty: start after a line break or a full stop).
            length: tokens to generate, 1 to 10,000 (default 200).
            temperature: softmax temperature, 0 to 10; 0 takes the most likely token
                (default 0.8).
            top_k: draw among the k most likely tokens only (default all).
            seed: the same seed gives the same output (default a fresh one, reported).
            n: images to generate, 1 to 256 (GANs; default 16).

        Returns:
            :class:`~athanor.serve.generation.GeneratedText` (``.text`` is the prompt and its
            continuation; never ``<pad>`` or ``<unk>``) or
            :class:`~athanor.serve.generation.GeneratedImages` (``.grid_bytes()``, a PNG).

        Raises:
            GenerationError: a model that does not generate, or options out of range.
            PredictionInputError: a prompt with characters or words the model never saw.
        """
        from athanor.serve.generation import generate, parse_request

        request = parse_request(
            {
                "prompt": prompt,
                "length": length,
                "temperature": temperature,
                "top_k": top_k,
                "seed": seed,
                "n": n,
            }
        )
        return generate(self, request)

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """Class probabilities ``[N, classes]`` (classification) or values ``[N, targets]``."""
        return self.scores(self.to_raw(inputs))

    def predict(self, inputs: Any) -> list[Prediction]:
        """One :class:`Prediction` per input sample (see :meth:`to_raw` for input forms)."""
        if self.schema.task == "detection":
            return self.detect(inputs)
        return self.predictions(self.predict_proba(inputs))

    def detect(self, inputs: Any, *, threshold: float | None = None) -> list[Prediction]:
        """A detector's boxes for each image, in the pixels of the image as given (files, PIL
        images) or of the model's input (arrays).

        Args:
            inputs: as :meth:`to_raw` takes them.
            threshold: lowest score kept (default
                :data:`~athanor.serve.detection_prediction.MIN_SCORE`).

        Raises:
            PredictionInputError: not a detector, or inputs it cannot take.
        """
        from athanor.serve.detection_prediction import MIN_SCORE, detected_boxes, source_size

        if self.schema.task != "detection":
            raise PredictionInputError(f"this model does {self.schema.task}, not detection")
        items = inputs if isinstance(inputs, list) else [inputs]
        sizes: list[tuple[int, int] | None] | None = [source_size(item) for item in items]
        maps = self.scores(self.to_raw(inputs))
        if sizes is not None and len(sizes) != len(maps):
            sizes = None  # a batch array: boxes stay in the model's input pixels
        found = detected_boxes(
            self.schema,
            maps,
            threshold=MIN_SCORE if threshold is None else threshold,
            sizes=sizes,
        )
        return [Prediction(boxes=boxes) for boxes in found]

    def predict_series(
        self,
        source: str | Path,
        *,
        duplicates: str = "error",
        threshold: float | None = None,
    ) -> Any:
        """A series model on a whole series CSV: an anomaly detector's per-timestamp scores,
        flags and flagged intervals, or a forecaster's steps after the series' end.

        Args:
            source: a CSV file with a timestamp column and the model's value columns.
            duplicates: rows sharing a timestamp: ``error``, ``first`` or ``mean``.
            threshold: anomaly detectors: flag above this instead of the package's threshold.

        Returns:
            An ``AnomalyResult`` or a ``ForecastResult`` (``athanor.serve.series_prediction``).

        Raises:
            PredictionInputError: a model that is not a series model, or a series that does
                not fit it.
        """
        from athanor.serve.series_prediction import (
            detect_anomalies,
            forecast,
            is_series_model,
            read_series,
        )

        if not is_series_model(self):
            raise PredictionInputError(
                f"this model does {self.schema.task} on {self.schema.input.kind} inputs, not "
                "anomaly detection or forecasting on a series"
            )
        series = read_series(self, Path(source), duplicates=duplicates)
        if self.schema.task == "forecasting":
            return forecast(self, series)
        return detect_anomalies(self, series, threshold=threshold)

    def predictions(
        self,
        scores: np.ndarray,
        sizes: list[tuple[int, int] | None] | None = None,
        *,
        threshold: float | None = None,
    ) -> list[Prediction]:
        """One :class:`Prediction` per row of :meth:`scores`; a detector's boxes (scoring
        ``threshold`` or more, default 0.3) in the pixels of each image's ``(width, height)``
        in ``sizes``, else of the model's input."""
        if self.schema.task == "detection":
            from athanor.serve.detection_prediction import MIN_SCORE, detected_boxes

            lowest = MIN_SCORE if threshold is None else threshold
            found = detected_boxes(self.schema, scores, sizes=sizes, threshold=lowest)
            return [Prediction(boxes=b) for b in found]
        if self.schema.task != "classification":
            return [Prediction(values=row.tolist()) for row in scores]
        classes = self.schema.classes or []
        predictions = []
        for row in scores:
            best = int(row.argmax())
            predictions.append(
                Prediction(
                    label=classes[best],
                    probability=float(row[best]),
                    probabilities={c: float(p) for c, p in zip(classes, row, strict=True)},
                )
            )
        return predictions


def _text_of(item: Any, number: int) -> str:
    """A text input of a token model: a string as it is, a Path's file content."""
    if isinstance(item, Path):
        if item.suffix.lower() not in TEXT_SUFFIXES:
            raise PredictionInputError(
                f"{item}: unsupported input file; this model takes text files "
                f"({', '.join(sorted(TEXT_SUFFIXES))}) or strings"
            )
        return read_text_file(item)
    if not isinstance(item, str):
        raise PredictionInputError(f"input {number}: expected text, got {type(item).__name__}")
    return item
