"""Capture a training step once, replay it without the per-step work of the eager engine.

A training step whose shapes repeat does the same work every time: the same
layers, the same array shapes, the same order of kernels. :class:`TrainStep`
captures that work for one batch shape (the way ``torch.cuda.graph`` captures
a CUDA graph, and tinygrad's ``TinyJit`` a function) as a flat list of kernels
over arrays allocated once (:mod:`retrograd.capture.kernels`), and replays the
list on every later batch of that shape: no graph is recorded, no node or
temporary array is created, no Python runs between kernels but the loop over
them. ::

    step = rg.capture.TrainStep(model, loss_fn, optimizer)
    for x, y in loader:
        loss = step(x, y)  # zero_grad, forward, loss, backward, optimizer.step()

What is captured: an ``nn.Sequential`` of ``nn.Linear``, ``nn.Dropout``,
``nn.BatchNorm1d`` and ``nn.BatchNorm2d`` (training mode), every activation
of ``nn.activation.ACTIVATIONS`` (``nn.ReLU``, ``nn.Tanh`` and ``nn.Sigmoid`` by fused
kernels; the others, ``nn.PReLU`` and its slopes included, by their eager op:
:class:`~retrograd.capture.kernels.OpKernel`), and of convolutional layers
(``nn.Conv1d``, ``nn.Conv2d``, ``nn.MaxPool1d``, ``nn.MaxPool2d``,
``nn.AvgPool1d``, ``nn.AvgPool2d``, ``nn.Flatten``, ``nn.Unflatten``:
:mod:`retrograd.capture.conv_kernels`) on batched input, with
``nn.CrossEntropyLoss`` (class indices; any class weights, label smoothing
and ignored class), ``nn.MSELoss``, ``nn.L1Loss``, ``nn.HuberLoss`` or
``nn.SmoothL1Loss``, reduction ``'mean'`` or ``'sum'``. The optimizer's step
is captured for ``optim.SGD``, ``optim.Adam`` and ``optim.AdamW`` with one
parameter group (:mod:`retrograd.capture.optim`: the parameters, gradients
and state become views of flat buffers, and the first layer's weight is
stored transposed); any other optimizer's
``optimizer.step()`` runs as it is, on the gradients the replay wrote. Either
way its state, its ``state_dict`` and any scheduler (which changes
``param_groups[i]['lr']``) work as eagerly.

Everything else runs eagerly, through the ordinary engine, and gives the
ordinary result (or error): another module or loss, a module or tensor hook,
a parameter that does not require grad, an input that requires grad, gradients
already present (accumulation), grad mode off, anomaly detection, targets out
of range. The guards are checked on every call; :attr:`TrainStep.reason` says
why the last call ran eagerly. A new batch shape (a last partial batch),
dtype, train/eval flag, parameter object or parameter array captures again:
up to ``max_plans`` captures are kept, the oldest dropped first.

Replay equals eager bit for bit: each kernel does the eager op's arithmetic in
the same order (tested over many steps in ``tests/test_capture.py``).
"""

from __future__ import annotations

import math
from typing import Any

from .._backend import FLOAT_DTYPES, ndarray, xp
from ..autograd.grad_mode import _GradMode, is_grad_enabled
from ..autograd.hooks import leaf_hooks_of
from ..tensor import Tensor, wrap_array
from . import conv_kernels as CK
from . import kernels as K
from .optim import FlatOptimizer, SGDInBackward


class _EagerError(Exception):
    """Raised while planning: the reason this model or call runs eagerly."""


def _module_types() -> dict[str, Any]:
    """The module types replayed, matched by exact type (a subclass may override ``forward``)."""
    from .. import nn

    return {
        "linear": nn.Linear,
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "dropout": nn.Dropout,
        "batchnorm": (nn.BatchNorm1d, nn.BatchNorm2d),
        "conv": (nn.Conv1d, nn.Conv2d),
        "maxpool": (nn.MaxPool1d, nn.MaxPool2d),
        "avgpool": (nn.AvgPool1d, nn.AvgPool2d),
        "reshape": (nn.Flatten, nn.Unflatten),
        "sequential": nn.Sequential,
        "identity": nn.Identity,
        "prelu": nn.PReLU,
        "leaky_relu": nn.LeakyReLU,
        # the other activations, each with the options its kernel reads (a plan's key holds
        # them): replayed by their eager op (kernels.OpKernel), LeakyReLU by a kernel of its own
        "activations": {
            nn.LeakyReLU: ("negative_slope",),
            nn.ELU: ("alpha",),
            nn.GELU: ("approximate",),
            nn.Softplus: ("beta", "threshold"),
            nn.SiLU: (),
            nn.Mish: (),
            nn.Hardtanh: ("min_val", "max_val"),
            nn.LogSigmoid: (),
            nn.Softsign: (),
        },
        "ce": nn.CrossEntropyLoss,
        "mse": nn.MSELoss,
        "regression": (nn.L1Loss, nn.HuberLoss, nn.SmoothL1Loss),
    }


def _has_hooks(module: Any) -> bool:
    return bool(module.__dict__.get("_has_hooks"))


def _param_guard(p: Tensor | None) -> tuple[Any, ...]:
    """What must not change about a parameter for a plan to stay valid."""
    if p is None:
        return (None,)
    return (id(p), id(p.array), p.requires_grad, leaf_hooks_of(p) is None, p.grad is None)


class TrainStep:
    """A training step, captured on its first call for each batch shape and replayed after.

    Parameters
    ----------
    model : nn.Module
        Captured when it is an ``nn.Sequential`` of the supported layers (see
        the module docstring); any other model runs eagerly every step.
    loss_fn : callable
        ``loss_fn(output, target)``; captured when it is an ``nn.CrossEntropyLoss``,
        ``nn.MSELoss``, ``nn.L1Loss``, ``nn.HuberLoss`` or ``nn.SmoothL1Loss`` of
        the supported options.
    optimizer : optim.Optimizer, optional
        Stepped by :meth:`__call__` (not needed by :meth:`forward_backward`).
        An SGD, Adam or AdamW with one parameter group of exactly the model's
        parameters is stepped over flat buffers (:mod:`retrograd.capture.optim`):
        on the first capture the parameters' arrays become views of one
        buffer, and the first layer's weight is stored transposed.
    enabled : bool, default=True
        False runs every step eagerly (the same results, for comparison).
    max_plans : int, default=4
        How many captured batch shapes (and flag settings) to keep.
    grads : dict, optional
        ``{parameter: array}``: where a replay writes each parameter's
        gradient (an array of its shape and dtype, C-contiguous, such as the
        views of ``DistributedDataParallel.grad_views()``, so that averaging
        copies nothing); others get arrays of their own. The optimizer's
        step is then not captured.
    update_in_backward : bool, default=False
        With an ``optim.SGD`` without momentum, let :meth:`__call__` update each
        weight of 16,384 elements or more inside the backward pass, by its
        weight-gradient product (:class:`~retrograd.capture.optim.SGDInBackward`:
        one BLAS ``gemm`` adds ``-lr g^T x`` to the weight): a pass over the
        weight and its gradient less per step. Those weights' ``.grad`` are None
        after the call, and they may differ from eager's in the last bit (the
        product is added unrounded). PyTorch's counterpart is the optimizer step
        run in the backward pass by ``register_post_accumulate_grad_hook``.
        :meth:`forward_backward` never does it. Another optimizer than
        ``optim.SGD`` raises ValueError; where it cannot apply on a step
        (momentum, no weight that large, a BLAS that is not NumPy's OpenBLAS)
        the step is the ordinary one: :attr:`updated_in_backward` counts the
        calls that did it.

    Attributes
    ----------
    reason : str or None
        Why the last call ran eagerly, or None when it was replayed.
    captures, replays, eager_steps : int
        How many calls captured a plan, replayed one, ran eagerly.
    updated_in_backward : int
        How many calls updated the large weights inside the backward pass
        (``update_in_backward=True``).
    """

    def __init__(
        self,
        model: Any,
        loss_fn: Any,
        optimizer: Any = None,
        *,
        enabled: bool = True,
        max_plans: int = 4,
        grads: dict[Tensor, ndarray] | None = None,
        update_in_backward: bool = False,
    ) -> None:
        if update_in_backward:
            from ..optim import SGD

            if type(optimizer) is not SGD:
                raise ValueError(
                    "TrainStep(update_in_backward=True) makes plain SGD's update in the backward "
                    f"pass; the optimizer is {type(optimizer).__name__}, not an optim.SGD"
                )
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.enabled = enabled
        self.max_plans = max_plans
        self.update_in_backward = update_in_backward
        self.reason: str | None = None
        self.captures = self.replays = self.eager_steps = self.updated_in_backward = 0
        self._plans: dict[tuple[Any, ...], _Plan] = {}
        self._types = _module_types()
        # The arrays given for the gradients, by id; the tensors kept so that the ids stay theirs.
        self._grads: dict[int, ndarray] | None = (
            {id(p): a for p, a in grads.items()} if grads else None
        )
        self._keep = list(grads) if grads else []
        self._flat: FlatOptimizer | None = None  # the optimizer's step over flat buffers
        self._last: _Plan | None = None  # the plan the last call replayed

    # ------------------------------------------------------------ the step
    def __call__(self, x: Any, y: Any) -> Tensor:
        """``optimizer.zero_grad()``, forward, loss, backward, ``optimizer.step()``; the loss.

        Returns
        -------
        Tensor
            The loss, detached (its array is this step's own).
        """
        if self.optimizer is None:
            raise ValueError("TrainStep(...)(x, y) steps the optimizer: pass optimizer=")
        self.optimizer.zero_grad()
        flat = self._flat
        in_backward = flat.in_backward if flat is not None else None
        if in_backward is not None:
            in_backward.arm()
        try:
            loss, _ = self.forward_backward(x, y)
            plan = self._last
            if in_backward is not None and in_backward.on and plan is not None:
                self.updated_in_backward += plan.in_backward is in_backward
            self.step_optimizer()
        finally:
            if in_backward is not None:
                in_backward.on = False
        return loss

    def step_optimizer(self) -> None:
        """``optimizer.step()``: over flat buffers after a replay that captured it, else eagerly."""
        plan = self._last
        flat = plan.flat if plan is not None else None
        if flat is None or not flat.step():
            self.optimizer.step()

    def forward_backward(self, x: Any, y: Any, keep_output: bool = False) -> tuple[Tensor, Tensor]:
        """Forward, loss and backward: the parameters' ``.grad`` hold this batch's gradients.

        Replayed when the guards hold, else run eagerly (``.grad`` then
        accumulates, as ``loss.backward()`` does).

        Parameters
        ----------
        x, y : Tensor or ndarray
            The batch and its targets.
        keep_output : bool, default=False
            Return an output of its own when replayed (a copy), not the plan's array.

        Returns
        -------
        loss : Tensor
            Detached when replayed.
        output : Tensor
            The model's output. When replayed without ``keep_output``, its array is
            overwritten by the next replay of the same shape.
        """
        if self.enabled:
            plan = self._plan_for(x, y)
        else:
            plan, self.reason = None, "capture is off (enabled=False)"
        self._last = plan
        if plan is None:
            self.eager_steps += 1
            output = self.model(x)
            loss = self.loss_fn(output, y)
            loss.backward()
            return loss, output
        self.replays += 1
        plan.forward(_array(x), _array(y))
        plan.backward()
        loss, output = wrap_array(plan.loss.loss), plan.output
        return loss, wrap_array(output.array.copy()) if keep_output else output

    # ------------------------------------------------------------ guards
    def _plan_for(self, x: Any, y: Any) -> _Plan | None:
        """The plan for this call (captured now if new), or None (``reason`` says why)."""
        try:
            key = self._key(x, y)
            plan = self._plans.get(key)
            if plan is None:
                plan = self._capture(_array(x), _array(y))
                key = self._key(x, y)  # the parameters' arrays may have moved into flat buffers
                if len(self._plans) >= self.max_plans:
                    del self._plans[next(iter(self._plans))]
                self._plans[key] = plan
                self.captures += 1
            if not plan.loss.valid(_array(y)):
                raise _EagerError("a target is not a class index in [0, C) or ignore_index")
        except _EagerError as why:
            self.reason = str(why)
            return None
        self.reason = None
        return plan

    def _capture(self, x: ndarray, y: ndarray | None) -> _Plan:
        """A new plan; with the optimizer's step over flat buffers when it can be captured."""
        layers = self._layers()
        plan = _Plan(layers, self.loss_fn, x, y, self._types, self._grads)
        if self.optimizer is None or self._grads is not None:
            return plan
        flat = self._flat
        ids = {id(p) for p in plan.params}
        if flat is None or not flat.valid() or {id(p) for p in flat.params} != ids:
            # the first layer's weight is stored transposed when its backward needs no
            # input gradient: its forward then multiplies C-contiguous matrices (NN, not NT)
            first = plan.kernels[0] if plan.kernels else None
            transpose = (
                plan.params[:1] if isinstance(first, K.LinearKernel) and first.gx is None else []
            )
            flat = self._flat = FlatOptimizer.build(self.optimizer, plan.params, transpose)
            if flat is None:
                return plan
            self._plans.clear()  # their kernels read the parameters' old arrays
        plan = _Plan(layers, self.loss_fn, x, y, self._types, flat.grads)
        plan.flat = flat
        if self.update_in_backward and flat.in_backward is None:
            flat.in_backward = SGDInBackward.build(self.optimizer, plan.params)
        plan.in_backward = flat.in_backward
        if plan.in_backward is not None:
            for k in plan.kernels:
                if isinstance(k, K.LinearKernel) and id(k.weight) in plan.in_backward.ids:
                    k.update = plan.in_backward
        return plan

    def _layers(self) -> list[Any]:
        model = self.model
        if type(model) is not self._types["sequential"]:
            raise _EagerError(f"the model is a {type(model).__name__}, not an nn.Sequential")
        return list(model._modules.values())

    def _key(self, x: Any, y: Any) -> tuple[Any, ...]:
        """Everything a plan depends on; a different key needs another plan (or eager)."""
        if not is_grad_enabled() or _GradMode.anomaly or _GradMode.inference:
            raise _EagerError("grad mode is off, or anomaly detection or inference mode is on")
        for name, t in (("input", x), ("target", y)):
            if t is None:
                continue
            if isinstance(t, Tensor):
                if t.requires_grad:
                    raise _EagerError(f"the {name} requires grad")
            elif type(t) is not ndarray:
                raise _EagerError(f"the {name} is a {type(t).__name__}, not a Tensor or array")
        xa, ya = _array(x), _array(y)
        parts: list[Any] = [xa.shape, xa.dtype, id(self.model)]
        if ya is not None:
            parts += [ya.shape, ya.dtype]
        model, loss_fn = self.model, self.loss_fn
        if _has_hooks(model) or (loss_fn is not None and _has_hooks(loss_fn)):
            raise _EagerError("the model or the loss has hooks")
        modules = getattr(model, "_modules", {})
        activations = self._types["activations"]
        for m in modules.values():
            d = m.__dict__
            if d.get("_has_hooks"):
                raise _EagerError(f"a {type(m).__name__} has hooks")
            parts.append(id(m))
            parts.append(d.get("training"))
            params = d.get("_parameters")
            if params:
                for p in params.values():
                    parts.append(_param_guard(p))
            buffers = d.get("_buffers")
            if buffers:
                for b in buffers.values():
                    parts.append(None if b is None else (id(b), id(b.array)))
            if "p" in d:
                parts.append(d["p"])
            options = activations.get(type(m))
            if options:
                parts.append(tuple(d[name] for name in options))
            if "momentum" in d:
                parts.append((d["momentum"], d["eps"], d["track_running_stats"]))
            if "stride" in d:  # a convolution's or pool's window (kernel_size: a pool's)
                parts.append(
                    (d["stride"], d.get("padding"), d.get("dilation"), d.get("kernel_size"))
                )
                parts.append((d.get("groups"), d.get("ceil_mode"), d.get("return_indices")))
                parts.append(d.get("count_include_pad"))
            elif "end_dim" in d or "unflattened_size" in d:
                parts.append((d.get("start_dim"), d.get("end_dim"), d.get("dim")))
                parts.append(d.get("unflattened_size"))
        weight = getattr(loss_fn, "weight", None)
        parts.append(
            (
                id(loss_fn),
                getattr(loss_fn, "reduction", None),
                None if weight is None else (id(weight), id(weight.array), weight.requires_grad),
                getattr(loss_fn, "ignore_index", None),
                getattr(loss_fn, "label_smoothing", None),
                getattr(loss_fn, "delta", None),
                getattr(loss_fn, "beta", None),
            )
        )
        return tuple(parts)


def _array(t: Any) -> ndarray:
    return t.array if isinstance(t, Tensor) else t


def _recorded(
    fn: Any, shape: tuple[int, ...], dtype: Any, *targets: ndarray
) -> tuple[Any, tuple[int, ...]]:
    """The op node that one eager call of ``fn`` records on a sample, and one sample's output shape.

    ``fn`` is a module, or a loss called with ``targets``; the node is its last
    op. The node holds the layer's parameters as the eager op gets them (a
    convolution's padding and dilation pairs, a pool's output size, a loss's
    reduction): replay reads them there rather than converting the module's
    arguments again.
    """
    probe = wrap_array(xp.zeros((1, *shape), dtype=dtype), requires_grad=True)
    try:
        out = fn(probe, *(wrap_array(t) for t in targets))
    except (ValueError, TypeError, IndexError, RuntimeError) as e:
        raise _EagerError(f"{type(fn).__name__} raises on a sample of shape {shape}: {e}") from None
    return out._ctx, tuple(out.shape[1:])


class _Plan:
    """The kernels of one captured step, wired over their arrays, and the parameters they fill."""

    def __init__(
        self,
        modules: list[Any],
        loss_fn: Any,
        x: ndarray,
        y: ndarray | None,
        types: dict[str, Any],
        grads: dict[int, ndarray] | None = None,
    ) -> None:
        if x.ndim < 2 or x.dtype not in FLOAT_DTYPES:
            raise _EagerError(f"the input has shape {x.shape} and dtype {x.dtype}, not (N, ...)")
        n, dtype = x.shape[0], x.dtype
        if n == 0:
            raise _EagerError("the batch is empty")
        # leading Flatten/Unflatten layers become one reshape of each batch (the data needs no
        # gradient); others are kernels viewing their neighbours' arrays
        self.in_shape: tuple[int, ...] | None = None
        self.kernels: list[Any] = []
        self.flat: FlatOptimizer | None = None  # set by TrainStep when it steps the optimizer
        self.in_backward: SGDInBackward | None = None  # the weights updated by the backward
        self.params: list[Tensor] = []
        self.grads: list[ndarray] = []
        self.given_grads = grads or {}
        shape = tuple(x.shape[1:])  # one sample's
        start = 0  # the first kernel with parameters: those before it have no backward
        for m in modules:
            had_params = bool(self.params)
            kernel, shape = self._kernel(m, n, shape, dtype, types)
            if kernel is None:
                continue
            if not had_params:
                start = len(self.kernels)
            if not self.kernels and isinstance(kernel, CK.ReshapeKernel):
                self.in_shape = (n, *shape)
                continue
            self.kernels.append(kernel)
        if not self.params:
            raise _EagerError("no parameter requires grad")
        self.loss = self._loss_kernel(loss_fn, n, shape, dtype, y, types)
        self._wire()
        self.forwards = [k.forward for k in self.kernels] + [self.loss.forward]
        self.backwards = [k.backward for k in reversed(self.kernels[start:])]
        last = self.kernels[-1] if self.kernels else None
        self.output = wrap_array(last.out if last is not None else x)
        self.first = self.kernels[0] if self.kernels else None
        self.grad_tensors = [wrap_array(g) for g in self.grads]
        self.pairs = list(zip(self.params, self.grad_tensors, strict=True))

    def _kernel(
        self, m: Any, n: int, shape: tuple[int, ...], dtype: Any, types: dict[str, Any]
    ) -> tuple[Any, tuple[int, ...]]:
        """The kernel replaying module ``m`` (None: the identity) and one sample's output shape."""
        kind = type(m)
        needs_gx = bool(self.params)  # the data needs no gradient: layers before the first
        name = kind.__name__
        if kind is types["linear"]:
            params = [m.weight] + ([m.bias] if m.bias is not None else [])
            self._check_params(params, dtype, name)
            if shape != (m.weight.shape[1],):
                raise _EagerError(
                    f"Linear expects ({m.weight.shape[1]},) features, gets {shape}"
                    " (eager raises, or maps the last axis of N-D input)"
                )
            kernel = K.LinearKernel(m, n, dtype, needs_gx)
            self._take(kernel, m.weight, m.bias)
            return kernel, (m.weight.shape[0],)
        if kind in types["batchnorm"]:
            if not m.training:
                raise _EagerError(f"{name} in eval mode is not captured")
            ndims = (1, 2) if kind is types["batchnorm"][0] else (3,)  # (N, C), (N, C, L)
            if (
                len(shape) not in ndims
                or shape[0] != m.num_features
                or n * math.prod(shape[1:]) <= 1
            ):
                raise _EagerError(f"{name}: one value per channel, or input (N, *{shape})")
            params = [p for p in (m.weight, m.bias) if p is not None]
            self._check_params(params, dtype, name)
            for b in (m.running_mean, m.running_var):
                if b is not None and b.dtype != dtype:
                    raise _EagerError(f"{name}'s running statistics have another dtype")
            kernel = K.BatchNormKernel(m, (n, *shape), dtype, needs_gx)
            self._take(kernel, m.weight, m.bias)
            return kernel, shape
        if kind in types["conv"]:
            if len(shape) != m._d + 1:
                raise _EagerError(f"{name} of a sample of shape {shape} (unbatched input)")
            params = [m.weight] + ([m.bias] if m.bias is not None else [])
            self._check_params(params, dtype, name)
            op, out_shape = _recorded(m, shape, dtype)
            kernel = CK.ConvKernel(op, m, n, shape, dtype, needs_gx)
            self._take(kernel, m.weight, m.bias)
            return kernel, out_shape
        if kind in types["maxpool"]:
            if m.return_indices or len(shape) != (2 if kind is types["maxpool"][0] else 3):
                raise _EagerError(f"{name} with return_indices, or of unbatched input")
            op, out_shape = _recorded(m, shape, dtype)
            return CK.MaxPoolKernel(op, n, shape, dtype, needs_gx), out_shape
        if kind in types["avgpool"]:
            if len(shape) != (2 if kind is types["avgpool"][0] else 3):
                raise _EagerError(f"{name} of unbatched input")
            op, out_shape = _recorded(m, shape, dtype)
            return CK.AvgPoolKernel(op, n, shape, dtype, needs_gx), out_shape
        if kind in types["reshape"]:
            first = m.start_dim if kind is types["reshape"][0] else m.dim
            if first % (len(shape) + 1) == 0:  # replay keeps the batch axis apart
                raise _EagerError(f"{name} reshapes the batch axis")
            _, out_shape = _recorded(m, shape, dtype)
            return CK.ReshapeKernel((n, *shape), (n, *out_shape), dtype, needs_gx), out_shape
        n_shape = (n, *shape)
        if kind is types["relu"]:
            return K.ReLUKernel(n_shape, dtype), shape
        if kind is types["tanh"]:
            return K.TanhKernel(n_shape, dtype), shape
        if kind is types["sigmoid"]:
            return K.SigmoidKernel(n_shape, dtype), shape
        if kind is types["dropout"]:
            if not m.training or m.p == 0:
                return None, shape
            if m.p == 1:
                raise _EagerError("Dropout(p=1) is not captured")
            return K.DropoutKernel(float(m.p), n_shape, dtype), shape
        if kind is types["leaky_relu"]:
            op, _ = _recorded(m, shape, dtype)
            return K.LeakyReLUKernel(op.negative_slope, n_shape, dtype), shape
        if kind in types["activations"]:
            op, _ = _recorded(m, shape, dtype)
            return K.OpKernel(op, n_shape, dtype, needs_gx), shape
        if kind is types["prelu"]:
            self._check_params([m.weight], dtype, name)
            op, _ = _recorded(m, shape, dtype)
            kernel = K.PReLUKernel(op, m, n_shape, dtype, needs_gx)
            self._take(kernel, m.weight, None)
            return kernel, shape
        if kind is types["identity"]:
            return None, shape
        raise _EagerError(f"{name} is not captured")

    def _check_params(self, params: list[Tensor], dtype: Any, where: str) -> None:
        for p in params:
            if not p.requires_grad:
                raise _EagerError(f"a parameter of {where} does not require grad")
            if p.dtype != dtype:
                raise _EagerError(f"{where} has {p.dtype} parameters, the input is {dtype}")
            if p.grad is not None:
                raise _EagerError("a parameter already has a gradient (it would accumulate)")
            if leaf_hooks_of(p) is not None:
                raise _EagerError(f"a parameter of {where} has hooks")

    def _take(self, kernel: Any, weight: Tensor | None, bias: Tensor | None) -> None:
        """Collect a kernel's parameters and gradient arrays (``gw``, ``gb``).

        A gradient the caller gave an array for (:class:`Backprop`'s ``grads``,
        the flat gradient buffer) is written there instead of the kernel's own.
        """
        given = self.given_grads
        if weight is not None and id(weight) in given:
            kernel.gw = given[id(weight)]
        if bias is not None and id(bias) in given:
            kernel.gb = given[id(bias)]
        for p, g in ((weight, kernel.gw), (bias, kernel.gb)):
            if p is not None:
                self.params.append(p)
                self.grads.append(g)

    def _loss_kernel(
        self,
        loss_fn: Any,
        n: int,
        shape: tuple[int, ...],
        dtype: Any,
        y: ndarray,
        types: dict[str, Any],
    ) -> Any:
        if loss_fn is None:  # Backprop: the caller computes the loss and hands its gradient
            return K.SeedKernel((n, *shape), dtype)
        kind = type(loss_fn)
        reduction = getattr(loss_fn, "reduction", None)
        if reduction not in ("mean", "sum"):
            raise _EagerError(f"the loss is {kind.__name__}(reduction={reduction!r})")
        if kind is types["ce"]:
            if len(shape) != 1 or y.shape != (n,) or y.dtype.kind not in "iu":
                raise _EagerError(
                    f"CrossEntropyLoss of output {(n, *shape)}, targets of shape {y.shape}, "
                    f"dtype {y.dtype}"
                )
            c, mean = shape[0], reduction == "mean"
            weight, smoothing = loss_fn.weight, loss_fn.label_smoothing
            if weight is None and not smoothing and not 0 <= loss_fn.ignore_index < c:
                return K.CrossEntropyKernel(n, c, dtype, mean)  # eager's SoftmaxCrossEntropy
            if weight is not None and (weight.dtype != dtype or weight.requires_grad):
                raise _EagerError(
                    f"CrossEntropyLoss's weight is {weight.dtype}"
                    f"{' and requires grad' if weight.requires_grad else ''}; the output {dtype}"
                )
            # eager records ops.CrossEntropy for weights, smoothing or an ignored target
            ignored = loss_fn.ignore_index if 0 <= loss_fn.ignore_index < c else 0
            op, _ = _recorded(loss_fn, (c,), dtype, xp.full(1, ignored, dtype=y.dtype))
            fused = None
            if weight is None and not smoothing:  # eager's fused op where nothing is ignored
                fused = K.CrossEntropyKernel(n, c, dtype, mean)
            return K.CrossEntropyOpKernel(op, n, c, dtype, fused)
        if y.shape != (n, *shape) or y.dtype != dtype:
            raise _EagerError(f"{kind.__name__} targets of shape {y.shape}, dtype {y.dtype}")
        if kind is types["mse"]:
            return K.MSEKernel((n, *shape), dtype, reduction == "mean")
        if kind in types["regression"]:
            reduce, _ = _recorded(loss_fn, shape, dtype, xp.zeros((1, *shape), dtype=dtype))
            return K.RegressionKernel(reduce.next[0], reduce, (n, *shape), dtype)
        raise _EagerError(f"the loss {kind.__name__} is not captured")

    def _wire(self) -> None:
        """Connect each kernel's input to its producer's output and each gradient to its reader.

        Activations write over their input when it is the output of a Linear,
        BatchNorm1d or Conv (C-contiguous, as the eager activation's output is),
        whose backward never reads it: one array less per layer. Reshapes are
        views of their neighbours' arrays.
        """
        in_place = (K.ReLUKernel, K.TanhKernel, K.SigmoidKernel, K.LeakyReLUKernel)
        producers = (K.LinearKernel, K.BatchNormKernel, CK.ConvKernel)
        prev = None
        for k in self.kernels:
            if prev is not None:
                if isinstance(k, CK.ReshapeKernel):
                    k.link_input(prev.out)
                else:
                    k.x = prev.out
                if (
                    isinstance(k, in_place)
                    and isinstance(prev, producers)
                    and prev.out.flags.c_contiguous
                ):
                    k.out = prev.out
            prev = k
        self.loss.x = prev.out if prev is not None else None
        g = self.loss.gx
        for k in reversed(self.kernels):
            k.g = g
            if isinstance(k, (*in_place, K.DropoutKernel)):
                # the backward multiplies g in place, unless g is strided (the inside of a
                # padded buffer): eager's product is C-contiguous, and a product or sum
                # over it may round differently from one over a strided array
                k.gx = g if g.flags.c_contiguous else xp.empty(g.shape, dtype=g.dtype)
                g = k.gx
            elif isinstance(k, CK.ReshapeKernel) and k.needs_gx:
                k.link_grad(g)
                g = k.gx
            elif k.gx is None:
                break
            else:
                g = k.gx

    def forward(self, x: ndarray, y: ndarray | None) -> None:
        """Run the forward kernels (and the loss's, with its gradient) on this batch."""
        if self.in_shape is not None:
            x = x.reshape(self.in_shape)
        if self.first is not None:
            self.first.x = x
        else:
            self.loss.x = x
        self.loss.target = y
        for f in self.forwards:
            f()

    def backward(self) -> None:
        """Run the backward kernels from the loss's gradient; set each parameter's ``.grad``."""
        for f in self.backwards:
            f()
        in_backward = self.in_backward
        if in_backward is not None and in_backward.on:
            done = in_backward.ids
            for p, g in self.pairs:
                p.grad = None if id(p) in done else g
            return
        for p, g in self.pairs:
            p.grad = g


class Backprop:
    """The forward and backward of a model, replayed, with the loss left to the caller.

    For training loops that compute the loss and its gradient themselves (the
    scikit-learn estimators): ``forward(x)`` returns the model's output array,
    or None when the guards of :class:`TrainStep` send this call to the eager
    engine (:attr:`reason` says why); after a replayed ``forward``,
    ``backward(grad_output)`` sets every parameter's ``.grad``, as
    ``output.backward(grad_output)`` would, bit for bit.

    Parameters
    ----------
    model : nn.Module
        As for :class:`TrainStep`.
    grads : dict, optional
        ``{parameter: array}``: where to write each parameter's gradient (an
        array of its shape and dtype, C-contiguous, e.g. a view of one flat
        buffer); others get arrays of their own.
    """

    def __init__(self, model: Any, grads: dict[Tensor, ndarray] | None = None) -> None:
        self._step = TrainStep(model, None, grads=grads)
        self._plan: _Plan | None = None

    @property
    def reason(self) -> str | None:
        """Why the last ``forward`` was not replayed, or None."""
        return self._step.reason

    @property
    def replays(self) -> int:
        """How many ``forward`` calls were replayed."""
        return self._step.replays

    def forward(self, x: Any) -> ndarray | None:
        """The model's output on ``x`` (the plan's array: read it before the next call), or None."""
        self._plan = plan = self._step._plan_for(x, None)
        if plan is None:
            self._step.eager_steps += 1
            return None
        self._step.replays += 1
        plan.forward(_array(x), None)
        return plan.output.array

    def backward(self, grad_output: ndarray) -> None:
        """Back-propagate ``grad_output`` (of the output's shape and dtype) from ``forward``."""
        plan = self._plan
        if plan is None:
            raise RuntimeError("Backprop.backward() needs a replayed forward() first")
        xp.copyto(plan.loss.gx, grad_output)
        plan.backward()
        self._plan = None


__all__ = ["Backprop", "TrainStep"]
