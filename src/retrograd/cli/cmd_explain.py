"""``retrograd explain``: one training step of a small network, number by number."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import click

from .. import pipeline
from ..explain import FORMATS as EXPLAIN_FORMATS
from ..explain import LOSS_NAMES as EXPLAIN_LOSSES
from ..serialization import atomic_write
from .errors import UsageFailure
from .inputs import check_features, check_output, load_data, load_model
from .params import HiddenSizes, Name, flag, given, name_option, number_option, parse_numbers


def _explain_model(
    model: Path, data: str | None, sample: int, lr: float, steps: int, tol: float, graph: bool
) -> Any:
    """The explanation of one step of a saved model on row ``sample`` of its data."""
    from .. import explain as ex

    path, trained = load_model(model)
    saved = trained.info.get("data") or trained.info.get("dataset")  # a path resolves anywhere
    target = trained.info.get("target") if data is None else None
    data = data or saved
    if not data:
        raise UsageFailure(f"the model {path} does not say its data set; give it with --data")
    spec = load_data(data, target)
    check_features(trained, spec.X, f"--data {data}")
    exp = ex.explain_model(
        trained, spec.X, spec.y, sample, lr=lr, steps=steps, tol=tol, graph=graph
    )
    exp.source = f"the model {path}, row {sample} of {spec.name}"
    return exp


#: The most weights ``--layers`` may ask for: explain writes out every number of a step.
MAX_WEIGHTS = 100_000


def _check_small(layers: tuple[int, ...] | None) -> None:
    """Refuse ``--layers`` too big to explain, before a weight is drawn."""
    if not layers:
        return
    weights = sum(a * b for a, b in itertools.pairwise(layers))
    if weights > MAX_WEIGHTS:
        raise UsageFailure(
            f"--layers {','.join(map(str, layers))} has {weights:,} weights; explain shows "
            f"every number of a step, for networks of at most {MAX_WEIGHTS:,} weights"
        )


@click.command()
@click.option(
    "--layers",
    type=HiddenSizes(),
    metavar="SIZES",
    help="Layer sizes, input first, e.g. 2,3,1 [default: 2,2,1].",
)
@name_option(
    "activation",
    pipeline.ACTIVATIONS,
    "sigmoid",
    help="The activation of every layer (the output layer too, with --loss mse).",
)
@name_option(
    "loss",
    {name: pipeline.LOSSES[name] for name in EXPLAIN_LOSSES},
    "mse",
    help="cross-entropy puts a softmax on the output layer (2 or more outputs, --target a class).",
)
@number_option("lr", 0.5, "The learning rate eta.")
@number_option("seed", help="Random weights (nn.Linear's default) by seed.")
@click.option(
    "--weights",
    "weights_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.json",
    help='Weights as {"layers": [{"weight": [[...]], "bias": [...]}, ...]}.',
)
@click.option("--input", "input_", metavar="X1,X2,...", help="The input values [default: 1,0].")
@click.option(
    "--target",
    metavar="Y",
    help="The target: values for mse, one class index for cross-entropy [default: 1].",
)
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    help="A saved model (model file or run folder) to explain instead.",
)
@number_option("sample", 0, "Row of --data.")
@click.option(
    "--data", metavar="NAME|FILE", help="With --model: its data [default: the one it trained on]."
)
@number_option("steps", 1, "Repeat the step N times on the sample and show the loss after each.")
@number_option("tol", 1e-3, "Stop the repeat once the loss falls below this.")
@click.option("--graph", is_flag=True, help="Include the computational graph of the loss.")
@click.option(
    "--format",
    "format_",
    type=Name(dict.fromkeys(EXPLAIN_FORMATS), "format"),
    default="text",
    show_default=True,
    help="html: one self-contained page with the network drawn in SVG.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    metavar="FILE",
    help="Write the report to FILE instead of printing it (- prints it).",
)
def explain(
    layers: tuple[int, ...] | None,
    activation: str,
    loss: str,
    lr: float,
    seed: int | None,
    weights_file: Path | None,
    input_: str | None,
    target: str | None,
    model: Path | None,
    sample: int,
    data: str | None,
    steps: int,
    tol: float,
    graph: bool,
    format_: str,
    out: Path | None,
) -> None:
    """Show one training step of a small network number by number: the forward pass,
    the loss, the backward pass (chain rule, checked by finite differences), the update
    and the loss after it.

    With no option: a 2-2-1 sigmoid network with fixed weights, the XOR sample
    (1, 0) -> 1, MSE and learning rate 0.5. See docs/explain.md.

    \b
    Examples:
      retrograd explain
      retrograd explain --layers 2,3,2 --loss cross-entropy --seed 1 --steps 50
      retrograd explain --model runs/iris --sample 7 --format html --out step.html
    """
    from .. import explain as ex

    ctx = click.get_current_context()
    if out is not None and str(out) == "-":
        out = None
    if out is not None:
        check_output(out, "--out")
    try:
        if model is not None:
            clash = given(ctx, ["layers", "activation", "loss", "seed", "weights_file",
                                 "input_", "target"])  # fmt: skip
            if clash:
                names = ", ".join(flag(n.rstrip("_").replace("weights_file", "weights"))
                                  for n in clash)  # fmt: skip
                raise UsageFailure(f"--model explains the saved network; drop {names}")
            exp = _explain_model(model, data, sample, lr, steps, tol, graph)
        else:
            if data is not None:
                raise UsageFailure("--data goes with --model")
            if weights_file is not None and seed is not None:
                raise UsageFailure("give --seed or --weights, not both")
            if weights_file is not None and not weights_file.is_file():
                raise UsageFailure(f"no such weights file: {weights_file}")
            _check_small(layers)
            weights, source = ex.default_network(layers, seed, weights_file)
            n_in = weights[0][0].shape[1]
            x = parse_numbers(input_, "--input")
            if x is None:
                x = list(ex.DEFAULT_INPUT) if n_in == 2 else [1.0] * n_in
            y = parse_numbers(target, "--target")
            y_value: Any = ex.DEFAULT_TARGET if y is None else (y[0] if len(y) == 1 else y)
            exp = ex.explain_step(
                weights, x, y_value, activation, loss, lr, steps=steps, tol=tol,
                source=source, graph=graph,
            )  # fmt: skip
    except ex.ExplainError as e:
        raise UsageFailure(str(e)) from None
    if graph and format_ == "html" and exp.graph_dot is not None:
        from ..viz import render_dot

        exp.graph_svg, exp.graph_note = render_dot(exp.graph_dot)
    report = ex.render(exp, format_)
    if out is None:
        click.echo(report, nl=False)
        return
    atomic_write(out, report.encode())
    click.echo(f"wrote {out}")
