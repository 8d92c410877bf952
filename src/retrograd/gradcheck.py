"""Check analytic gradients against central finite differences in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._backend import xp
from .autograd import no_grad
from .tensor import Tensor, wrap_array


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when an analytic and a numeric gradient disagree."""


def _outputs(out: Any) -> list[Tensor]:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def gradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Compare the gradients of ``fn`` with central finite differences, in float64.

    Every floating input that requires grad is copied to float64; for every
    element of every output, backward gives one row of the Jacobian, which is
    compared with ``(f(x + eps) - f(x - eps)) / (2 eps)`` element by element.

    Parameters
    ----------
    fn : callable
        Takes ``*inputs`` and returns a Tensor or a tuple of Tensors.
    inputs : Tensor or sequence
        Tensors (those with ``requires_grad=True`` are checked) and other arguments.
    eps : float, default=1e-6
        Finite-difference step.
    atol, rtol : float, default=1e-5, 1e-3
        Passes where ``|analytic - numeric| <= atol + rtol * |numeric|``.

    Returns
    -------
    bool
        True when every gradient agrees.

    Raises
    ------
    GradcheckError
        Naming the input, the element index, and the analytic and numeric values.
    """
    args = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    args = [
        wrap_array(a.array.astype(xp.float64), requires_grad=True)
        if isinstance(a, Tensor) and a.requires_grad
        else a
        for a in args
    ]
    checked = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not checked:
        raise ValueError("gradcheck(): no input requires grad; nothing to check")

    outs = _outputs(fn(*args))
    if not outs:
        raise ValueError("gradcheck(): fn returned no floating point tensor")
    sizes = [o.array.size for o in outs]
    total = sum(sizes)
    analytic = {i: xp.zeros((total, args[i].array.size)) for i in checked}
    row = 0
    for k, o in enumerate(outs):
        for j in range(sizes[k]):
            for i in checked:
                args[i].grad = None
            outs_now = _outputs(fn(*args))
            seed = xp.zeros(o.array.size)
            seed[j] = 1.0
            target = outs_now[k]
            if target.requires_grad:
                target.backward(seed.reshape(target.shape))
            for i in checked:
                g = args[i].grad
                if g is not None:
                    analytic[i][row] = g.array.reshape(-1)
            row += 1

    with no_grad():
        for i in checked:
            x = args[i].array
            for e in range(x.size):
                # NOTE: a multi-index, not reshape(-1): that is a copy for an input that is
                # not C-contiguous (x.T), and writing to it would perturb nothing.
                at = xp.unravel_index(e, x.shape)
                orig = x[at]
                x[at] = orig + eps
                plus = xp.concatenate([o.array.reshape(-1) for o in _outputs(fn(*args))])
                x[at] = orig - eps
                minus = xp.concatenate([o.array.reshape(-1) for o in _outputs(fn(*args))])
                x[at] = orig
                numeric = (plus - minus) / (2 * eps)
                got = analytic[i][:, e]
                bad = ~(xp.abs(got - numeric) <= atol + rtol * xp.abs(numeric))
                if bad.any():
                    r = int(xp.argmax(bad))
                    index = tuple(int(v) for v in xp.unravel_index(e, x.shape))
                    raise GradcheckError(
                        f"gradcheck: gradient of output element {r} with respect to input {i} "
                        f"at index {index} disagrees: analytic {got[r]!r}, numeric {numeric[r]!r} "
                        f"(atol={atol}, rtol={rtol})"
                    )
    return True


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    grad_outputs: Tensor | Sequence[Tensor] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check second derivatives: :func:`gradcheck` of the first derivative, in float64.

    The first derivative ``(x, v) -> grad(fn(x), x, v, create_graph=True)`` is a
    function of the inputs and of the output gradients ``v``; its own gradients
    (recorded by ``create_graph=True``) are compared with central differences.

    Parameters
    ----------
    fn, inputs : callable, Tensor or sequence
        As in :func:`gradcheck`: ``fn(*inputs)`` returns a Tensor or a tuple of
        Tensors; the inputs with ``requires_grad=True`` are checked.
    grad_outputs : Tensor or sequence of Tensor, optional
        The ``v`` at which to check, one per floating output; random normal
        (drawn with ``seed``) when not given.
    eps, atol, rtol : float, default=1e-6, 1e-5, 1e-3
        As in :func:`gradcheck`.
    seed : int, default=0
        Seed of the random ``grad_outputs``.

    Returns
    -------
    bool
        True when every second derivative agrees.

    Raises
    ------
    GradcheckError
        Naming the input, the element index, and the analytic and numeric values.
    """
    from .autograd import enable_grad, grad

    args = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    checked = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck(): no input requires grad; nothing to check")
    outs = _outputs(fn(*args))
    if grad_outputs is None:
        rng = xp.random.default_rng(seed)
        vs = [wrap_array(rng.standard_normal(o.shape), requires_grad=True) for o in outs]
    else:
        given = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
        vs = [wrap_array(v.array.astype(xp.float64), requires_grad=True) for v in given]
    n = len(args)

    def first_derivative(*xs: Any) -> tuple[Tensor, ...]:
        with enable_grad():  # gradcheck evaluates under no_grad for the differences
            ins = [xs[i] for i in checked]
            outs = _outputs(fn(*xs[:n]))
            pairs = [(o, v) for o, v in zip(outs, xs[n:], strict=True) if o.requires_grad]
            if not pairs:
                return tuple(wrap_array(xp.zeros(x.shape)) for x in ins)
            outs, gouts = zip(*pairs, strict=True)
            gs = grad(outs, ins, list(gouts), create_graph=True, allow_unused=True)
        return tuple(
            wrap_array(xp.zeros(x.shape)) if g is None else g for g, x in zip(gs, ins, strict=True)
        )

    return gradcheck(first_derivative, [*args, *vs], eps=eps, atol=atol, rtol=rtol)
