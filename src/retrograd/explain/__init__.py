"""One training step of a real network, shown number by number.

:func:`explain_step` runs one step of gradient descent on one sample with the
engine itself (the same ``nn.Linear`` forward, loss modules, ``backward()`` and
``optim.SGD`` that training uses) and records every number of it: each neuron's
weighted sum ``z = sum(w_i * x_i) + b`` and activation ``a = f(z)``, the loss,
the error signals ``delta = dL/dz`` layer by layer from the output back, every
``dL/dw = delta * a_prev`` beside its central finite-difference estimate, and
the update ``w_new = w_old - eta * dL/dw``. :func:`render` writes the record as
text, Markdown or a self-contained HTML page (with an SVG drawing of the network).
``retrograd explain`` on the command line is this package; see ``docs/explain.md``.

The steps and the notation are the textbook's: forward pass, loss, backward pass
by the chain rule ``dL/dw = dL/dy_pred * dy_pred/dz * dz/dw``, gradient descent,
repeat.

The package keeps the computation apart from its presentation:

- :mod:`.record`: the plain data of one step (:class:`Explanation`, :class:`LayerStep`);
- :mod:`.network`: the weights (a file, a seed or the defaults) and the ``nn.Sequential``;
- :mod:`.step`: the step itself, by the engine (:func:`explain_step`, :func:`explain_model`);
- :mod:`.text`: the numbers as text and the sections every format shows;
- :mod:`.markdown`, :mod:`.html`: the other two renderers.
"""

from __future__ import annotations

from ..options import lookup

# The names below "as" themselves are public too (the module had them at its top level).
from .html import render_html as render_html
from .markdown import render_markdown as render_markdown
from .network import DEFAULT_INPUT, DEFAULT_WEIGHTS, build_network, load_weights
from .network import DEFAULT_TARGET as DEFAULT_TARGET
from .network import default_network as default_network
from .record import MAX_NEURONS as MAX_NEURONS
from .record import MAX_TERMS as MAX_TERMS
from .record import ExplainError, Explanation, LayerStep
from .step import FD_EPS as FD_EPS
from .step import LOSS_NAMES as LOSS_NAMES
from .step import explain_model, explain_step
from .text import AGREE_RTOL as AGREE_RTOL
from .text import SPARK as SPARK
from .text import num as num
from .text import par as par
from .text import render_text as render_text
from .text import sections as sections
from .text import val as val

__all__ = [
    "DEFAULT_INPUT",
    "DEFAULT_WEIGHTS",
    "ExplainError",
    "Explanation",
    "LayerStep",
    "build_network",
    "explain_model",
    "explain_step",
    "load_weights",
    "render",
]

FORMATS = ("text", "markdown", "html")


def render(exp: Explanation, format: str = "text") -> str:
    """The explanation in ``format``: ``'text'``, ``'markdown'`` or ``'html'``.

    Spelled as :func:`retrograd.options.lookup` allows (``'Markdown'`` too).
    """
    try:
        format = lookup(dict.fromkeys(FORMATS), format, "format")
    except ValueError as e:
        raise ExplainError(str(e)) from None
    if format == "text":
        return render_text(exp)
    if format == "markdown":
        return render_markdown(exp)
    if format == "html":
        return render_html(exp)
    raise ExplainError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
