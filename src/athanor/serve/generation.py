"""Generation from generative models: text from language models, images from GANs.

One module serves every surface (``athanor generate``, ``Predictor.generate`` in Python, the
model server's and the platform's ``/generate`` endpoints): each checks its request with
:class:`GenerateRequest` and calls :func:`generate`, so limits, seeds and errors are the same
everywhere.

Text never holds the vocabulary's ``<pad>`` and ``<unk>`` markers: they are banned from the
draw. A prompt must be written in the model's vocabulary; its unknown characters (or words)
are named in the error rather than silently dropped or turned into ``<unk>``.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from athanor.data.text import PAD, UNK, Tokenize, split_tokens
from athanor.errors import PayloadTooLarge, PredictionInputError, UserError

if TYPE_CHECKING:
    from athanor.data.schema import Schema
    from athanor.serve.predictor import Predictor

MAX_LENGTH = 10_000  # tokens of one text: one forward step each
MAX_IMAGES = 256
MAX_SEED = 2**63 - 1
GENERATIVE_TASKS = {"language_model": "text", "generation": "images"}

_NO_SPACE_BEFORE = re.compile(r"^[.,;:!?%)\]}'’”]+$")
_NO_SPACE_AFTER = {"(", "[", "{", "‘", "“", "$", "#"}


class GenerationError(UserError):
    """A generation request the model cannot answer: a model that does not generate, or
    options outside their limits."""

    http_status = 422


class NotGenerativeError(GenerationError):
    """``generate`` on a model that predicts from inputs: the model, not the request, is
    what does not fit, so it is answered like any state conflict (409)."""

    http_status = 409


class GenerativeModelError(PredictionInputError):
    """``predict`` on a model that generates: it has no inputs to predict from."""


class GenerateRequest(BaseModel):
    """What to generate. Language models read ``prompt``, ``length``, ``temperature`` and
    ``top_k``; GANs read ``n``; both read ``seed``."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(
        default="",
        max_length=100_000,
        description="Text the model continues (language models); written in the model's "
        "vocabulary. Empty: start after a line break (characters) or a full stop (words).",
    )
    length: int = Field(
        default=200, ge=1, le=MAX_LENGTH, description="Tokens to generate after the prompt."
    )
    temperature: float = Field(
        default=0.8,
        ge=0,
        le=10,
        description="Softmax temperature: lower is more conservative, higher more varied; "
        "0 always takes the most likely token.",
    )
    top_k: int | None = Field(
        default=None, ge=1, description="Draw only among the k most likely tokens."
    )
    seed: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SEED,
        description="Random seed: the same seed and options give the same output. Default: "
        "a fresh one, reported in the answer.",
    )
    n: int = Field(default=16, ge=1, le=MAX_IMAGES, description="Images to generate (GANs).")


class GeneratedText(BaseModel):
    """A language model's continuation of a prompt."""

    model: str | None = Field(default=None, description="The version that generated it.")
    kind: Literal["text"] = "text"
    prompt: str = Field(description="The prompt as given.")
    generated: str = Field(description="The new text only.")
    text: str = Field(description="The prompt followed by the new text.")
    tokens: int = Field(description="Tokens generated.")
    level: Literal["char", "word"] = Field(description="The model's token unit.")
    seed: int = Field(description="The seed that reproduces this text.")
    temperature: float
    top_k: int | None = None


class GeneratedImages(BaseModel):
    """A GAN's images, as base64 PNG files and one grid of them."""

    model: str | None = Field(default=None, description="The version that generated them.")
    kind: Literal["images"] = "images"
    count: int
    seed: int = Field(description="The seed that reproduces these images.")
    width: int
    height: int
    channels: int
    grid_png: str = Field(description="All images tiled in one PNG, base64.")
    images_png: list[str] = Field(description="Each image as a PNG, base64.")

    def grid_bytes(self) -> bytes:
        """The grid PNG file's bytes."""
        return base64.b64decode(self.grid_png)

    def image_bytes(self) -> list[bytes]:
        """Each image's PNG file bytes."""
        return [base64.b64decode(item) for item in self.images_png]


Generated = GeneratedText | GeneratedImages


def generation_kind(schema: Schema) -> str | None:
    """``text`` (language models), ``images`` (GANs) or ``None`` (a model that predicts)."""
    return GENERATIVE_TASKS.get(schema.task)


def refuse_prediction(schema: Schema, ref: str | None) -> None:
    """Raise :class:`GenerativeModelError` for a generative model's prediction request.

    Raises:
        GenerativeModelError: naming ``generate`` and its options for this model.
    """
    kind = generation_kind(schema)
    if kind is None:
        return
    name = (ref or "MODEL").split("@")[0]
    what = "a language model" if kind == "text" else "an image generator (GAN)"
    how = (
        f"athanor generate {name} --prompt TEXT --length N"
        if kind == "text"
        else f"athanor generate {name} --n 16 -o grid.png"
    )
    raise GenerativeModelError(
        f"{ref or 'this model'} is {what}: it generates {kind} rather than predicting from "
        f"inputs; use `{how}`, model.generate(...) in Python, or POST "
        f"/v1/models/{name}/generate"
    )


# The generate endpoints read their body themselves, so that a missing body means the
# defaults and every refusal is one message ({"detail": "..."}), as their 422 documents.
GENERATE_REQUEST_SCHEMA = "GenerateRequest"
GENERATE_REQUEST_BODY: dict[str, Any] = {
    "required": False,
    "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{GENERATE_REQUEST_SCHEMA}"}}
    },
}
MAX_GENERATE_BODY_BYTES = 1_000_000


def add_generate_request_schema(openapi: dict[str, Any]) -> None:
    """Add :class:`GenerateRequest` to an OpenAPI document's components (the generate
    endpoints declare their body as :data:`GENERATE_REQUEST_BODY`, which refers to it)."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas[GENERATE_REQUEST_SCHEMA] = GenerateRequest.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )


def request_from_body(body: bytes) -> GenerateRequest:
    """The options of a generate request's body: a JSON object, or nothing for the defaults.

    Raises:
        PayloadTooLarge: a body over :data:`MAX_GENERATE_BODY_BYTES`.
        GenerationError: a body that is not a JSON object, or options outside their limits.
    """
    if len(body) > MAX_GENERATE_BODY_BYTES:
        raise PayloadTooLarge(
            f"the body has {len(body):,} bytes; generation options fit in "
            f"{MAX_GENERATE_BODY_BYTES:,}"
        )
    if not body.strip():
        return GenerateRequest()
    try:
        options = json.loads(body)
    except ValueError as exc:
        raise GenerationError(f"the body is not JSON ({exc}); send an object of options") from None
    if not isinstance(options, dict):
        raise GenerationError(
            "the body must be a JSON object of options (prompt, length, temperature, top_k, "
            f"seed, n), not {type(options).__name__}"
        )
    return parse_request(options)


def parse_request(options: dict[str, Any]) -> GenerateRequest:
    """A :class:`GenerateRequest` from plain options, as a :class:`GenerationError`.

    Raises:
        GenerationError: an unknown option or a value outside its limits, naming it.
    """
    try:
        return GenerateRequest.model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'options'}: {error['msg']}"
            for error in exc.errors()
        )
        raise GenerationError(f"generation options: {problems}") from None


def generate(predictor: Predictor, request: GenerateRequest) -> Generated:
    """Generate with ``predictor``'s model as ``request`` says.

    Raises:
        NotGenerativeError: a model that does not generate (a classifier, a regressor).
        PredictionInputError: a prompt with characters or words outside the vocabulary.
    """
    kind = generation_kind(predictor.schema)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    if kind == "text":
        return _generate_text(predictor, request, seed)
    if kind == "images":
        return _generate_images(predictor, request, seed)
    raise NotGenerativeError(
        f"{predictor.ref or 'this model'} is a {predictor.schema.task} model: it predicts "
        "from inputs (use predict); generate works with language models (template char_rnn) "
        "and GANs (template dcgan)"
    )


def _tokenizer(predictor: Predictor) -> Tokenize:
    for step in predictor.preprocessor.input_steps:
        if isinstance(step, Tokenize):
            return step
    raise GenerationError(f"{predictor.ref or 'this model'} has no saved tokenizer to read text")


def _prompt_ids(tokenize: Tokenize, prompt: str) -> list[int]:
    """Token ids of the prompt; an empty prompt starts after a line break or a full stop.

    Raises:
        PredictionInputError: characters or words of the prompt outside the vocabulary.
    """
    index = {token: i for i, token in enumerate(tokenize.vocab)}
    if not prompt:
        start = "\n" if tokenize.level == "char" else "."
        if start not in index:
            start = tokenize.vocab[2] if len(tokenize.vocab) > 2 else tokenize.vocab[-1]
        return [index[start]]
    tokens = split_tokens(prompt, tokenize.level, tokenize.lowercase)
    unknown = sorted({t for t in tokens if t not in index or t in (PAD, UNK)})
    if unknown:
        unit = "character" if tokenize.level == "char" else "word"
        shown = ", ".join(repr(t) for t in unknown[:12])
        more = f" and {len(unknown) - 12} more" if len(unknown) > 12 else ""
        known = ""
        if tokenize.level == "char":
            letters = "".join(tokenize.vocab[2:])
            known = f"; the model knows these {len(letters)} characters: {letters!r}"
        raise PredictionInputError(
            f"prompt: {len(unknown)} {unit}(s) the model never saw in training: {shown}{more}"
            f"{known}; write the prompt without them"
        )
    if not tokens:
        raise PredictionInputError(
            "prompt: holds no tokens (only spaces); give text or leave it empty"
        )
    return [index[t] for t in tokens]


def join_words(tokens: list[str]) -> str:
    """Words and punctuation marks as text: no space before closing marks or after opening
    ones."""
    text = ""
    for token in tokens:
        if (
            text
            and not _NO_SPACE_BEFORE.match(token)
            and text[-1] not in _NO_SPACE_AFTER
            and not text[-1].isspace()
        ):
            text += " "
        text += token
    return text


def _generate_text(predictor: Predictor, request: GenerateRequest, seed: int) -> GeneratedText:
    tokenize = _tokenizer(predictor)
    network = predictor.network
    if not hasattr(network, "sample"):
        raise GenerationError(
            f"{predictor.ref or 'this model'}: its network cannot sample text "
            "(use template char_rnn)"
        )
    prompt_ids = _prompt_ids(tokenize, request.prompt)
    banned = [i for i, token in enumerate(tokenize.vocab) if token in (PAD, UNK)]
    generator = torch.Generator().manual_seed(seed)
    ids = network.sample(
        torch.tensor(prompt_ids, dtype=torch.int64),
        request.length,
        request.temperature,
        generator,
        top_k=request.top_k,
        banned=banned,
    )
    new_tokens = [tokenize.vocab[int(i)] for i in ids.tolist()]
    if tokenize.level == "char":
        generated = "".join(new_tokens)
        text = request.prompt + generated
    else:
        generated = join_words(new_tokens)
        text = join_words([request.prompt, *new_tokens]) if request.prompt else generated
    return GeneratedText(
        model=predictor.ref,
        prompt=request.prompt,
        generated=generated,
        text=text,
        tokens=len(new_tokens),
        level="char" if tokenize.level == "char" else "word",
        seed=seed,
        temperature=request.temperature,
        top_k=request.top_k,
    )


def _generate_images(predictor: Predictor, request: GenerateRequest, seed: int) -> GeneratedImages:
    from athanor.training.callbacks.gan_samples import image_grid, to_pixels

    network = predictor.network
    if not hasattr(network, "generate"):
        raise GenerationError(
            f"{predictor.ref or 'this model'}: its network has no generator (use template dcgan)"
        )
    generator = torch.Generator().manual_seed(seed)
    images = network.generate(request.n, generator)
    pixels = to_pixels(images, predictor.preprocessor.to_json())
    columns = int(np.ceil(np.sqrt(request.n)))
    return GeneratedImages(
        model=predictor.ref,
        count=request.n,
        seed=seed,
        width=int(pixels.shape[3]),
        height=int(pixels.shape[2]),
        channels=int(pixels.shape[1]),
        grid_png=_png_base64(image_grid(pixels, columns)),
        images_png=[_png_base64(image.transpose(1, 2, 0)) for image in pixels],
    )


def _png_base64(picture: np.ndarray) -> str:
    """``uint8 [H, W, C]`` as a base64 PNG (grey when C is 1)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture[:, :, 0] if picture.shape[2] == 1 else picture).save(
        buffer, format="PNG"
    )
    return base64.b64encode(buffer.getvalue()).decode("ascii")
