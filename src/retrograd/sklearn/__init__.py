"""scikit-learn estimators trained by retrograd: :class:`MLPClassifier`, :class:`MLPRegressor`.

Drop-in replacements for :mod:`sklearn.neural_network`'s estimators of the same
names: the same constructor parameters with the same defaults and meanings, the
same fitted attributes, and scikit-learn's conventions throughout (they differ
quietly from PyTorch's, so they are stated here):

- the objective is the sample-weighted mean data loss plus
  ``alpha / 2 * sum(||W||^2) / sum(sample_weight)`` (intercepts not penalised);
  the data losses are scikit-learn's: log-loss (softmax output, or logistic for
  binary and multilabel targets), half squared error averaged over outputs,
  half Poisson deviance (exp output);
- the weights start Glorot-uniform from ``random_state`` exactly as
  scikit-learn draws them (bound ``sqrt(6 / (fan_in + fan_out))``, factor 2 for
  'logistic');
- SGD momentum is ``v = momentum * v - lr * g`` and the 'invscaling' and
  'adaptive' learning-rate schedules, the Adam step, ``tol`` /
  ``n_iter_no_change`` and early stopping follow
  ``sklearn/neural_network/_stochastic_optimizers.py`` and
  ``_multilayer_perceptron.py``.

What retrograd adds: the activations 'gelu', 'leaky_relu' and 'elu', the
solvers 'adamw' and 'rmsprop', ``dropout`` after each hidden activation, a
``dtype`` (float32 by default, for speed), :meth:`~MLPClassifier.to_module`
(the trained ``retrograd.nn.Sequential``) and ``save``/``load`` through
:func:`retrograd.save`. The forward and backward passes of training run through
retrograd's engine (the fused ``Linear`` op and the activation modules); the
output layer's gradient, ``(prediction - target) * sample_weight / sum(weights)``
for every loss here (each pairs with its canonical output activation), is
handed to ``backward`` directly.

The package is laid out as ``sklearn.neural_network``: ``_stochastic_optimizers``
(the solvers, :data:`SOLVERS`), ``_base`` (:data:`ACTIVATIONS`, the output
activations and the losses) and ``_multilayer_perceptron`` (the estimators).
"""

from __future__ import annotations

from ._base import ACTIVATIONS
from ._multilayer_perceptron import MLPClassifier, MLPRegressor
from ._stochastic_optimizers import SOLVERS

__all__ = ["ACTIVATIONS", "SOLVERS", "MLPClassifier", "MLPRegressor"]
