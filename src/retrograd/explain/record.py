"""The record of one explained training step: plain data, every number of it.

:func:`~retrograd.explain.step.explain_step` fills an :class:`Explanation`; the
renderers (:mod:`.text`, :mod:`.markdown`, :mod:`.html`) only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["MAX_NEURONS", "MAX_TERMS", "ExplainError", "Explanation", "LayerStep"]

MAX_NEURONS = 6  # neurons shown per layer; larger layers are summarised
MAX_TERMS = 6  # terms w_i * x_i written out per weighted sum


class ExplainError(ValueError):
    """A user error in the explain inputs (sizes, weights file, sample)."""


@dataclass
class LayerStep:
    """Every number of one layer in one step (arrays over the layer's neurons).

    ``weight`` is (out, in) as in ``nn.Linear``; ``inputs`` is the previous
    layer's activation (the input x for the first layer). ``grad_a`` is the
    gradient arriving from above, ``dadz`` the activation's derivative f'(z)
    and ``delta = dL/dz``; ``fd_*`` are the central finite-difference estimates.
    """

    index: int
    activation: str
    inputs: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    z: np.ndarray
    a: np.ndarray
    grad_a: np.ndarray
    dadz: np.ndarray | None
    delta: np.ndarray
    grad_weight: np.ndarray
    grad_bias: np.ndarray
    fd_weight: np.ndarray
    fd_bias: np.ndarray
    new_weight: np.ndarray
    new_bias: np.ndarray
    is_output: bool = False

    @property
    def size(self) -> int:
        """The number of neurons."""
        return len(self.z)

    @property
    def shown(self) -> int:
        """The number of neurons written out (the first :data:`MAX_NEURONS`)."""
        return min(self.size, MAX_NEURONS)


@dataclass
class Explanation:
    """One training step, recorded: what :func:`explain_step` returns.

    Attributes
    ----------
    layers : list of LayerStep
        Input side first.
    x, target : numpy.ndarray
        The sample: features (n_in,) and target ((n_out,) values for MSE, a
        class index for cross-entropy).
    loss_name : {'mse', 'cross-entropy'}
    loss, loss_after : float
        The loss before and after the update, on the same sample.
    grad_y : numpy.ndarray
        The gradient of the loss with respect to y_pred (the output activation).
    lr : float
    history : list of float
        The loss after each step of ``steps`` (the first is ``loss_after``).
    steps : int
        The most steps asked for; the repeat stops early below ``tol``.
    tol : float
    source : str
        Where the weights came from.
    input_names, class_names : list of str, optional
    graph_dot : str, optional
        The computational graph of the loss (:func:`retrograd.viz.draw_graph`).
    graph_svg, graph_note : str, optional
        The graph drawn as SVG for the HTML page, or why it could not be drawn.
    notes : list of str
        Extra lines for the report's head (how a saved model's row was scaled).
    """

    layers: list[LayerStep]
    x: np.ndarray
    target: np.ndarray
    loss_name: str
    loss: float
    loss_after: float
    grad_y: np.ndarray
    lr: float
    history: list[float] = field(default_factory=list)
    steps: int = 1
    tol: float = 0.0
    source: str = ""
    input_names: list[str] | None = None
    class_names: list[str] | None = None
    graph_dot: str | None = None
    graph_svg: str | None = None
    graph_note: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def sizes(self) -> list[int]:
        """Layer widths, input first: ``[2, 2, 1]`` for the default network."""
        return [len(self.x), *(layer.size for layer in self.layers)]

    @property
    def y_pred(self) -> np.ndarray:
        """The network's output activation."""
        return self.layers[-1].a
