"""Derivatives of whole functions, as ``torch.autograd.functional``.

``jacobian``, ``hessian``, ``vjp``, ``jvp`` and ``hvp`` take a function of Tensors
and the point at which to differentiate it. Each is built on :func:`~.higher.grad`:
the Jacobian row by row (one vector-Jacobian product per output element), the
Hessian as the Jacobian of the gradient, ``jvp`` by the double-vjp trick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._backend import xp
from .._docstrings import fill_doc
from ..tensor import Tensor, wrap_array
from .grad_mode import enable_grad
from .higher import grad

#: The Parameters entries these functions share, filled into their docstrings.
_DOC_FIELDS = {
    "func_any": """func : callable
        Takes Tensors, returns a Tensor or a tuple of Tensors.""",
    "func_scalar": """func : callable
        Takes Tensors, returns a Tensor with one element.""",
    "inputs": """inputs : Tensor or tuple of Tensor
        The point.""",
    "v_inputs": """v : Tensor or tuple of Tensor, optional
        Of the inputs' shapes; may be omitted for a single one-element input.""",
    "flags": """create_graph, strict : bool, default=False
        As in :func:`vjp`.""",
    "vectorize": """vectorize : bool, default=False
        Only False is supported.""",
}
_doc = fill_doc(**_DOC_FIELDS)


def _prepare(inputs: Any, create_graph: bool, op: str) -> tuple[bool, tuple[Tensor, ...]]:
    """The inputs as a tuple of Tensors that require grad (PyTorch's ``_grad_preprocess``).

    An input that requires grad under ``create_graph`` stays connected to its graph
    (through an identity view); every other one is detached and made to require grad.
    """
    is_tuple = isinstance(inputs, (tuple, list))
    items = tuple(inputs) if is_tuple else (inputs,)
    out = []
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): input {i} must be a Tensor, got {type(t).__name__}")
        if t.dtype.kind != "f":
            raise TypeError(f"{op}(): input {i} must be floating point, got dtype {t.dtype}")
        if create_graph and t.requires_grad:
            out.append(t.reshape(t.shape))
        else:
            out.append(wrap_array(t.array, requires_grad=True))
    return is_tuple, tuple(out)


def _as_tuple(out: Any, op: str, what: str) -> tuple[bool, tuple[Tensor, ...]]:
    is_tuple = isinstance(out, (tuple, list))
    items = tuple(out) if is_tuple else (out,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): {what} {i} must be a Tensor, got {type(t).__name__}")
    return is_tuple, items


def _scalar_output(out: Any, op: str) -> tuple[Tensor, ...]:
    _, outs = _as_tuple(out, op, "output")
    if len(outs) != 1 or outs[0].array.size != 1:
        raise RuntimeError(
            f"{op}(): func must return a single tensor with one element, got shapes "
            f"{[o.shape for o in outs]}"
        )
    return outs


def _check_v(v: Any, like: tuple[Tensor, ...], op: str, what: str) -> tuple[Tensor, ...]:
    if v is None:
        if len(like) != 1 or like[0].array.size != 1:
            raise RuntimeError(
                f"{op}(): v can be omitted only when the {what} is a single tensor with one "
                f"element; got shapes {[t.shape for t in like]}"
            )
        return (wrap_array(xp.ones(like[0].shape, dtype=like[0].dtype)),)
    _, vs = _as_tuple(v, op, "v")
    if len(vs) != len(like) or any(a.shape != b.shape for a, b in zip(vs, like, strict=False)):
        raise RuntimeError(
            f"{op}(): v has shapes {[t.shape for t in vs]}, but the {what} has shapes "
            f"{[t.shape for t in like]}; they must match"
        )
    return vs


def _grads(
    outputs: tuple[Tensor, ...],
    inputs: tuple[Tensor, ...],
    grad_outputs: Any,
    create_graph: bool,
    strict: bool,
    op: str,
) -> tuple[Tensor, ...]:
    """``grad`` with zeros (or, when ``strict``, an error) for unused inputs."""
    live = [i for i, o in enumerate(outputs) if o.requires_grad]
    got: tuple[Tensor | None, ...] = (None,) * len(inputs)
    if live:
        gouts = None if grad_outputs is None else [grad_outputs[i] for i in live]
        got = grad(
            [outputs[i] for i in live],
            inputs,
            gouts,
            retain_graph=True,
            create_graph=create_graph,
            allow_unused=True,
        )
    result = []
    for i, (g, x) in enumerate(zip(got, inputs, strict=True)):
        if g is None:
            if strict:
                raise RuntimeError(
                    f"{op}(): the output is independent of input {i}; strict=True does not "
                    "allow that (pass strict=False to get zeros)"
                )
            g = wrap_array(xp.zeros(x.shape, dtype=x.dtype))
        result.append(g if create_graph else g.detach())
    return tuple(result)


def _no_vectorize(vectorize: bool, op: str) -> None:
    if vectorize:
        raise NotImplementedError(f"{op}(): vectorize=True is not supported; use the default")


@_doc
def vjp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """The vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    Parameters
    ----------
    {func_any}
    {inputs}
    v : Tensor or tuple of Tensor, optional
        Of the outputs' shapes; may be omitted for a single one-element output.
    create_graph : bool, default=False
        Record the result, so that it can be differentiated again.
    strict : bool, default=False
        Raise when an output does not depend on an input (instead of zeros).

    Returns
    -------
    (outputs, vjp)
        ``func(inputs)`` and the product, shaped as ``inputs``.
    """
    is_tuple, ins = _prepare(inputs, create_graph, "vjp")
    with enable_grad():
        out_tuple, outs = _as_tuple(func(*ins), "vjp", "output")
        vs = _check_v(v, outs, "vjp", "output")
        res = _grads(outs, ins, vs, create_graph, strict, "vjp")
    outs = outs if create_graph else tuple(o.detach() for o in outs)
    return (outs if out_tuple else outs[0]), (res if is_tuple else res[0])


@_doc
def jvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """The Jacobian-vector product ``J v`` of ``func`` at ``inputs``.

    Computed by the double-vjp trick: ``u -> u^T J`` is linear in ``u``, and its own
    vjp with ``v`` is ``J v``.

    Parameters
    ----------
    {func_any}
    {inputs}
    {v_inputs}
    {flags}

    Returns
    -------
    (outputs, jvp)
        ``func(inputs)`` and the product, shaped as the outputs.
    """
    _, ins = _prepare(inputs, create_graph, "jvp")
    vs = _check_v(v, ins, "jvp", "input")
    with enable_grad():
        out_tuple, outs = _as_tuple(func(*ins), "jvp", "output")
        us = tuple(wrap_array(xp.zeros(o.shape, dtype=o.dtype), requires_grad=True) for o in outs)
        gs = _grads(outs, ins, us, True, strict, "jvp")
        res = _grads(gs, us, vs, create_graph, strict, "jvp")
    outs = outs if create_graph else tuple(o.detach() for o in outs)
    return (outs if out_tuple else outs[0]), (res if out_tuple else res[0])


@_doc
def jacobian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs``, one reverse pass per output element.

    Parameters
    ----------
    {func_any}
    {inputs}
    {flags}
    {vectorize}
    strategy : str, default='reverse-mode'
        Only 'reverse-mode' is supported.

    Returns
    -------
    Tensor, or tuple (of tuples) of Tensor
        Entry ``[i][j]`` has shape ``outputs[i].shape + inputs[j].shape``; the
        nesting follows PyTorch: a tuple level only where ``func`` returned, or
        ``inputs`` was, a tuple.
    """
    from ..tensor import stack

    _no_vectorize(vectorize, "jacobian")
    if strategy != "reverse-mode":
        raise NotImplementedError(f"jacobian(): strategy {strategy!r}; only 'reverse-mode'")
    is_tuple, ins = _prepare(inputs, create_graph, "jacobian")
    with enable_grad():
        out_tuple, outs = _as_tuple(func(*ins), "jacobian", "output")
        blocks = []
        for o in outs:
            flat = o.reshape(-1)
            rows: list[list[Tensor]] = [[] for _ in ins]
            for k in range(flat.shape[0]):
                seed = xp.zeros(flat.shape, dtype=o.dtype)
                seed[k] = 1
                gs = _grads((flat,), ins, (wrap_array(seed),), create_graph, strict, "jacobian")
                for j, g in enumerate(gs):
                    rows[j].append(g)
            blocks.append(
                tuple(
                    stack(r).reshape(*o.shape, *x.shape)
                    if r
                    else wrap_array(xp.zeros((*o.shape, *x.shape), dtype=o.dtype))
                    for r, x in zip(rows, ins, strict=True)
                )
            )
    per_out = [b if is_tuple else b[0] for b in blocks]
    return tuple(per_out) if out_tuple else per_out[0]


@_doc
def hessian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of the scalar function ``func`` at ``inputs``.

    Parameters
    ----------
    {func_scalar}
    {inputs}
    {flags}
    {vectorize}
    outer_jacobian_strategy : str, default='reverse-mode'
        Only 'reverse-mode' is supported.

    Returns
    -------
    Tensor, or tuple of tuples of Tensor
        Entry ``[i][j]`` has shape ``inputs[i].shape + inputs[j].shape``.
    """
    _no_vectorize(vectorize, "hessian")
    is_tuple, ins = _prepare(inputs, create_graph, "hessian")

    def gradient(*xs: Tensor) -> tuple[Tensor, ...]:
        outs = _scalar_output(func(*xs), "hessian")
        return _grads(outs, xs, None, True, strict, "hessian")

    h = jacobian(gradient, ins, create_graph, strict, strategy=outer_jacobian_strategy)
    return h if is_tuple else h[0][0]


@_doc
def hvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """The Hessian-vector product ``H v`` of the scalar function ``func`` at ``inputs``.

    Parameters
    ----------
    {func_scalar}
    {inputs}
    {v_inputs}
    {flags}

    Returns
    -------
    (output, hvp)
        ``func(inputs)`` and the product, shaped as ``inputs``.
    """
    is_tuple, ins = _prepare(inputs, create_graph, "hvp")
    vs = _check_v(v, ins, "hvp", "input")
    with enable_grad():
        outs = _scalar_output(func(*ins), "hvp")
        gs = _grads(outs, ins, None, True, strict, "hvp")
        res = _grads(gs, ins, vs, create_graph, strict, "hvp")
    out = outs[0] if create_graph else outs[0].detach()
    return out, (res if is_tuple else res[0])
