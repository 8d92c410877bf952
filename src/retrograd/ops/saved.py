"""Which tensors each op saves for backward, as PyTorch's ops do, and their versions.

:func:`save_versions` runs when an op is recorded (``tensor.apply_op``): it notes the
version of each tensor the op saves; ``autograd.graph.check_versions`` compares them
during backward and raises PyTorch's error for a tensor changed in place since.
"""

from __future__ import annotations

from typing import Any

from .. import ops
from .._backend import ndarray
from ..autograd import Op
from ..autograd.versions import IndexPut

# Which tensors an op saves for backward, as PyTorch's derivatives do: for each input,
# ALWAYS, NEVER, or the index j of the input whose need for a gradient makes PyTorch
# save it (Mul saves b only to differentiate a); and whether it saves its output.
# Ops not listed are scanned: an input or output array found among the op's
# attributes counts as saved.
ALWAYS, NEVER = -1, None
SAVES: dict[type, tuple[tuple[int | None, ...], bool]] = {
    ops.Add: ((NEVER, NEVER), False),
    ops.Sub: ((NEVER, NEVER), False),
    ops.Neg: ((NEVER,), False),
    ops.Mul: ((1, 0), False),
    ops.MatMul: ((1, 0), False),
    ops.Div: ((1, ALWAYS), False),
    ops.PowScalar: ((ALWAYS,), False),
    ops.RPowScalar: ((NEVER,), True),
    ops.Pow: ((ALWAYS, ALWAYS), True),
    ops.Exp: ((NEVER,), True),
    ops.Log: ((ALWAYS,), False),
    ops.Sqrt: ((NEVER,), True),
    ops.Tanh: ((NEVER,), True),
    ops.Sigmoid: ((NEVER,), True),
    ops.ReLU: ((NEVER,), True),
    ops.Abs: ((ALWAYS,), False),
    ops.Clamp: ((ALWAYS,), False),
    ops.Sin: ((ALWAYS,), False),
    ops.Cos: ((ALWAYS,), False),
    ops.Cast: ((NEVER,), False),
    ops.Sum: ((NEVER,), False),
    ops.Mean: ((NEVER,), False),
    ops.Reshape: ((NEVER,), False),
    ops.Permute: ((NEVER,), False),
    ops.Expand: ((NEVER,), False),
    ops.Index: ((NEVER,), False),
    ops.Where: ((NEVER, NEVER, NEVER), False),
    ops.Softmax: ((NEVER,), True),
    ops.LogSoftmax: ((NEVER,), True),
    ops.Linear: ((1, 0, NEVER), False),
    # Listed so that training steps skip the scan: what the scan finds (every input kept).
    ops.SoftmaxCrossEntropy: ((ALWAYS,), False),
    ops.SquaredError: ((ALWAYS, ALWAYS), False),
}


def _plan(cls: type, spec: tuple[tuple[int | None, ...], bool]) -> None:
    """Store SAVES as the hot path reads it: ``cls.saves``, (input index, rule) pairs and
    whether the output is saved, or None when the op saves nothing."""
    rule, saves_out = spec
    pairs = tuple((i, r) for i, r in enumerate(rule) if r is not NEVER)
    cls.saves = (pairs, saves_out) if pairs or saves_out else None  # type: ignore[attr-defined]
    # NOTE: Linear's bias is optional: a rule never names an input index past the inputs given.


SAVES[IndexPut] = ((NEVER, NEVER), False)


def save_versions(fn: Op, inputs: tuple[Any, ...], out: Any) -> None:
    """Note the version of each tensor ``fn`` saved for backward (``fn`` was just recorded).

    One entry per saved tensor: (its counter, the version saved, the tensor or None for
    the output, its input index or -1 for the output); ``graph.check_versions`` reads them.
    The output is not kept (it holds ``fn``: that would be a reference cycle). Called only
    for ops whose ``saves`` is not None (``tensor.apply_op``).
    """
    rule, saves_out = fn.saves or _scan(fn, inputs, out)
    saved = []
    needs = fn.needs
    for i, r in rule:
        if r == ALWAYS or needs[r]:
            t = inputs[i]
            vc = getattr(t, "_vc", None)
            if vc is None:
                vc = t._vc = [0]
            saved.append((vc, vc[0], t, i))
    if saves_out:
        vc = out._vc = [0]
        saved.append((vc, 0, None, -1))
    if saved:
        fn.saved_versions = saved


def _scan(fn: Op, inputs: tuple[Any, ...], out: Any) -> tuple[tuple[tuple[int, int], ...], bool]:
    """The plan of an op not in :data:`SAVES`: the inputs and output found among its arrays."""
    arrays = [v for v in fn.__dict__.values() if type(v) is ndarray]
    saved_in = tuple((i, ALWAYS) for i, t in enumerate(inputs) if any(a is t.array for a in arrays))
    return saved_in, any(a is out.array for a in arrays)


for _cls, _spec in SAVES.items():
    _plan(_cls, _spec)
