"""The stochastic solvers of the estimators, with scikit-learn's conventions.

As ``sklearn/neural_network/_stochastic_optimizers.py``: SGD with
``v = momentum * v - lr * g`` (and Nesterov's step), the 'invscaling' and
'adaptive' schedules, and Adam with the bias correction folded into the rate;
retrograd adds AdamW and RMSprop. Each solver changes the parameters in place
(the estimators hand them one flat array, see ``_multilayer_perceptron``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _blas
from .._backend import flush_subnormal
from ..optim.updates import add_, mul_add_

__all__ = [
    "SOLVERS",
    "AdamOptimizer",
    "AdamWOptimizer",
    "BaseOptimizer",
    "RMSpropOptimizer",
    "SGDOptimizer",
]


# ---------------------------------------------------------------- in-place updates
# The engine's helpers (retrograd.optim.updates): one BLAS pass where it pays; their ufunc
# lines are scikit-learn's arithmetic, so small networks step as it does bit for bit.


def _add_two_scaled(
    alpha: float,
    x: np.ndarray,
    beta: float,
    w: np.ndarray,
    y: np.ndarray,
    scratch: np.ndarray,
    scratch2: np.ndarray,
) -> None:
    """``y += alpha * x + beta * w`` in place: two one-pass BLAS updates where they pay, else
    ufuncs (the sum first, then one add, as scikit-learn's ``params += updates``)."""
    if _blas.axpy(alpha, x, y):
        add_(y, beta, w, scratch)
        return
    np.multiply(x, alpha, out=scratch)
    np.multiply(w, beta, out=scratch2)
    scratch += scratch2
    y += scratch


# ---------------------------------------------------------------- the solvers


class BaseOptimizer:
    """Base of the stochastic solvers: each updates the parameters in place.

    ``params`` are the arrays of the weights and intercepts; the update works on
    them in place so that views (``coefs_``) stay current. The estimator passes
    one array, every parameter flat (the weights first, ``est._n_coef`` entries,
    then the intercepts), so that each step of a solver is a few array passes,
    not a few per parameter.
    """

    #: Whether the solver applies the L2 term itself (then the gradient leaves it out).
    decoupled = False
    #: Every this many steps, the subnormal entries of the state arrays are set to
    #: zero, as retrograd.optim.Optimizer.flush_every; 0 never.
    flush_every = 32

    def __init__(self, params: list[np.ndarray], est: Any) -> None:
        self.learning_rate_init = float(est.learning_rate_init)
        self.learning_rate = self.learning_rate_init
        self.steps_taken = 0

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Take one step (:meth:`update_params`), flushing subnormal state now and then."""
        self.update_params(params, grads)
        self.steps_taken += 1
        if self.flush_every and self.steps_taken % self.flush_every == 0:
            for a in self.state_arrays():
                flush_subnormal(a, np.empty_like(a))

    def update_params(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Take one step: change each parameter in place from its gradient."""
        raise NotImplementedError

    def state_arrays(self) -> list[np.ndarray]:
        """The arrays the solver carries from step to step (momenta, moments)."""
        return []

    def iteration_ends(self, time_step: int) -> None:
        """Called at the end of each epoch with the number of samples seen so far."""

    def trigger_stopping(self, msg: str, verbose: bool) -> bool:
        """Whether to stop after ``n_iter_no_change`` epochs without improvement."""
        if verbose:
            print(msg + " Stopping.")
        return True


class SGDOptimizer(BaseOptimizer):
    """SGD, scikit-learn's momentum ``v = mu*v - lr*g``; Nesterov's steps ``mu*v - lr*g``."""

    def __init__(self, params: list[np.ndarray], est: Any) -> None:
        super().__init__(params, est)
        self.lr_schedule = est.learning_rate
        self.momentum = float(est.momentum)
        self.nesterov = bool(est.nesterovs_momentum)
        self.power_t = float(est.power_t)
        self.velocities = [np.zeros_like(p) for p in params]
        self.scratch = [np.empty_like(p) for p in params]
        self.steps = [np.empty_like(p) for p in params]

    def state_arrays(self) -> list[np.ndarray]:
        return self.velocities

    def iteration_ends(self, time_step: int) -> None:
        if self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg: str, verbose: bool) -> bool:
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False

    def update_params(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        mu, lr = self.momentum, self.learning_rate
        for p, v, g, s, u in zip(
            params, self.velocities, grads, self.scratch, self.steps, strict=True
        ):
            mul_add_(v, mu, -lr, g, s)  # v = mu*v - lr*g
            if self.nesterov:
                _add_two_scaled(mu, v, -lr, g, p, s, u)  # p += mu*v - lr*g
            else:
                p += v


class AdamOptimizer(BaseOptimizer):
    """Adam as scikit-learn: ``lr_t = lr*sqrt(1-b2^t)/(1-b1^t)``, step ``-lr_t*m/(sqrt(v)+eps)``."""

    def __init__(self, params: list[np.ndarray], est: Any) -> None:
        super().__init__(params, est)
        self.beta_1, self.beta_2 = float(est.beta_1), float(est.beta_2)
        self.epsilon = float(est.epsilon)
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]
        self.scratch = [np.empty_like(p) for p in params]

    def state_arrays(self) -> list[np.ndarray]:
        return [*self.ms, *self.vs]

    def update_params(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        lr = self.learning_rate * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, m, v, g, u in zip(params, self.ms, self.vs, grads, self.scratch, strict=True):
            mul_add_(m, b1, 1 - b1, g, u)  # m = b1*m + (1-b1)*g
            np.multiply(g, g, out=u)
            mul_add_(v, b2, 1 - b2, u, u)  # v = b2*v + (1-b2)*g^2
            np.sqrt(v, out=u)
            u += self.epsilon
            np.divide(m, u, out=u)
            add_(p, -lr, u, u)  # p -= lr_t * m / (sqrt(v) + eps)


class AdamWOptimizer(AdamOptimizer):
    """Adam on the data gradient, the L2 term decoupled: ``W -= lr*alpha*W`` (coefs only)."""

    decoupled = True

    def __init__(self, params: list[np.ndarray], est: Any) -> None:
        super().__init__(params, est)
        self.alpha = float(est.alpha)
        self.n_coef = int(est._n_coef)

    def update_params(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        (flat,) = params  # the weights are its first n_coef entries, the intercepts the rest
        flat[: self.n_coef] *= 1.0 - self.learning_rate * self.alpha
        super().update_params(params, grads)


class RMSpropOptimizer(BaseOptimizer):
    """RMSprop: ``v = b2*v + (1-b2)*g^2``, step ``-lr*g/(sqrt(v)+eps)`` (b2 = ``beta_2``)."""

    def __init__(self, params: list[np.ndarray], est: Any) -> None:
        super().__init__(params, est)
        self.rho, self.epsilon = float(est.beta_2), float(est.epsilon)
        self.vs = [np.zeros_like(p) for p in params]

    def state_arrays(self) -> list[np.ndarray]:
        return self.vs

    def update_params(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        rho = self.rho
        for p, v, g in zip(params, self.vs, grads, strict=True):
            v *= rho
            v += (1 - rho) * (g * g)
            u = np.sqrt(v)
            u += self.epsilon
            np.divide(g, u, out=u)
            u *= -self.learning_rate
            p += u


#: Solver names to their optimizer class (``None``: 'lbfgs', full batch through scipy).
SOLVERS: dict[str, type[BaseOptimizer] | None] = {
    "lbfgs": None,
    "sgd": SGDOptimizer,
    "adam": AdamOptimizer,
    "adamw": AdamWOptimizer,
    "rmsprop": RMSpropOptimizer,
}
