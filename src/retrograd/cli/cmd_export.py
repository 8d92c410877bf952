"""``retrograd export``: a model for PyTorch, its preprocessing folded into the weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from .. import nn
from ..serialization import atomic_write
from .errors import UsageFailure
from .inputs import check_output, load_model
from .params import output_option

#: The layers an exported network may hold: their names are PyTorch's, and so are their
#: reprs, which build them in ``torch.nn``.
_EXPORTABLE = (
    nn.Linear, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.Softplus,
    nn.Identity, nn.Dropout, nn.BatchNorm1d,
)  # fmt: skip


def torch_state(trained: Any) -> tuple[dict[str, np.ndarray], str]:
    """The state dict PyTorch loads, and the ``nn.Sequential`` that takes it, as code.

    The standardisation ``(x - mean) / scale`` is folded into the first Linear
    (``W' = W / scale``, ``b' = b - W' @ mean``) and, for a regressor, the
    target's ``y * scale + mean`` into the last (``W' = scale W``,
    ``b' = scale b + mean``), computed in float64 and stored in float32; so
    the network takes raw features and gives raw predictions.
    """
    network = trained.network
    layers = list(network.children()) if isinstance(network, nn.Sequential) else [network]
    odd = [type(m).__name__ for m in layers if not isinstance(m, _EXPORTABLE)]
    if odd or not isinstance(layers[0], nn.Linear):
        raise UsageFailure(
            "export --to torch takes an MLP (Linear layers, activations, Dropout, "
            f"BatchNorm1d); this network has {', '.join(odd) or type(layers[0]).__name__}"
            + (" (a CNN's per-channel standardisation cannot be folded into a padded "
               "convolution)" if odd else "")
        )  # fmt: skip
    state = {k: np.array(v.array) for k, v in network.state_dict().items()}
    linears = [i for i, m in enumerate(layers) if isinstance(m, nn.Linear)]
    first, last = linears[0], linears[-1]
    mean, scale = trained.standardizer.mean_, trained.standardizer.scale_
    w = state[f"{first}.weight"].astype(np.float64) / scale
    state[f"{first}.weight"] = w
    state[f"{first}.bias"] = state[f"{first}.bias"].astype(np.float64) - w @ mean
    if trained.target_scaler is not None:
        t_mean, t_scale = trained.target_scaler.mean_[0], trained.target_scaler.scale_[0]
        state[f"{last}.weight"] = state[f"{last}.weight"].astype(np.float64) * t_scale
        state[f"{last}.bias"] = state[f"{last}.bias"].astype(np.float64) * t_scale + t_mean
    for key, value in state.items():
        if value.dtype == np.float64:
            state[key] = value.astype(np.float32)
    code = "nn.Sequential(\n" + "".join(f"    nn.{m!r},\n" for m in layers) + ")"
    return state, code


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--to",
    "target",
    type=click.Choice(["torch"]),
    default="torch",
    show_default=True,
    help="The framework to export for.",
)
@output_option("FILE.safetensors", "state dict (safetensors)")
def export(model: Path, target: str, output: Path) -> None:
    """Write a model's weights as a PyTorch state dict that takes raw features.

    MODEL is a model.safetensors file or a run folder. The standardisation is
    folded into the first Linear layer (and a regressor's target scaling into
    the last), so in PyTorch

    \b
      from safetensors.torch import load_file
      net = <the nn.Sequential printed here, also in the file's metadata>
      net.load_state_dict(load_file("model.safetensors")); net.eval()

    predicts as `retrograd predict` does: logits (argmax: the class index into
    the classes listed) or the value. See docs/cli.md.

    \b
    Example:
      retrograd export runs/iris --to torch -o iris_torch.safetensors
    """
    to_stdout = str(output) == "-"
    if not to_stdout:
        check_output(output, "--output")
    path, trained = load_model(model)
    state, code = torch_state(trained)
    from safetensors.numpy import save

    meta = {
        "format": "pt",  # what safetensors.torch writes
        "torch_module": code,
        "task": trained.task,
        "classes": json.dumps([str(c) for c in trained.classes or []]),
        "class_names": json.dumps(trained.class_names or []),
        "feature_names": json.dumps(list(trained.feature_names)),
        "exported_from": str(path),
    }
    data = save({k: np.ascontiguousarray(v) for k, v in state.items()}, metadata=meta)
    if to_stdout:
        click.get_binary_stream("stdout").write(data)
        return
    atomic_write(output, data)
    click.echo(f"wrote {output}: a PyTorch state dict for\nnet = {code}")
