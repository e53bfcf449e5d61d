"""``athanor generate MODEL``: text from a language model, images from a GAN."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from athanor.cli.output import console, errors, print_json

if TYPE_CHECKING:
    from athanor.serve.generation import GeneratedImages


def generate(
    ref: Annotated[
        str, typer.Argument(help="NAME, NAME@VERSION or NAME@ALIAS of a language model or GAN.")
    ],
    prompt: Annotated[
        str,
        typer.Option(
            "--prompt", "-p", help="Text to continue, in the model's vocabulary (language models)."
        ),
    ] = "",
    length: Annotated[int, typer.Option("--length", help="Tokens to generate (1-10000).")] = 200,
    temperature: Annotated[
        float,
        typer.Option(
            "--temperature", "-t", help="0 most likely token; higher is more varied (0-10)."
        ),
    ] = 0.8,
    top_k: Annotated[
        int | None, typer.Option("--top-k", help="Draw among the k most likely tokens only.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Same seed, same output (default a fresh one).")
    ] = None,
    count: Annotated[int, typer.Option("--n", help="Images to generate (GANs, 1-256).")] = 16,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Text: write it to this file. GAN: a .png file gets the grid; a folder "
            "(existing, or a name without .png) gets one PNG per image. Default for a GAN: "
            "NAME-samples.png.",
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Generate text with a language model (char_rnn) or images with a GAN (dcgan).

    The seed used is always printed, so any output can be made again.
    """
    from athanor.api import models
    from athanor.serve.generation import GeneratedText, generate, parse_request

    request = parse_request(
        {
            "prompt": prompt,
            "length": length,
            "temperature": temperature,
            "top_k": top_k,
            "seed": seed,
            "n": count,
        }
    )
    predictor = models.load(ref)
    result = generate(predictor, request)
    if isinstance(result, GeneratedText):
        if output is not None:
            output.write_text(result.text, encoding="utf-8")
        if json_output:
            print_json(
                {**result.model_dump(), "output": str(output) if output is not None else None}
            )
            return
        if output is not None:
            console.print(
                f"{result.tokens:,} {result.level}(s) by {result.model} written to {output} "
                f"(seed {result.seed})"
            )
        else:
            console.out(result.text, highlight=False)
            errors.print(f"[dim]{result.model}, seed {result.seed}[/dim]")
        return
    written = _write_images(result, output, ref)
    if json_output:
        print_json(
            {
                "model": result.model,
                "count": result.count,
                "seed": result.seed,
                "files": [str(path) for path in written],
            }
        )
        return
    where = written[0] if len(written) == 1 else f"{written[0].parent}/ ({len(written)} files)"
    console.print(
        f"{result.count} image(s) by {result.model} written to {where} (seed {result.seed})"
    )


def _write_images(result: GeneratedImages, output: Path | None, ref: str) -> list[Path]:
    """The grid in a .png file, or one PNG per image in a folder."""
    from athanor.errors import UserError

    if output is None:
        output = Path(ref.split("@")[0] + "-samples.png")
    if output.suffix.lower() == ".png" and not output.is_dir():
        if not output.parent.is_dir():
            raise UserError(f"{output.parent}: no such folder")
        output.write_bytes(result.grid_bytes())
        return [output]
    if output.exists() and not output.is_dir():
        raise UserError(f"{output}: give a .png file (the grid) or a folder (one file per image)")
    output.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, data in enumerate(result.image_bytes()):
        path = output / f"sample-{number:03d}.png"
        path.write_bytes(data)
        paths.append(path)
    return paths
