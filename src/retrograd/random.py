"""Random number generation: one default generator that ``manual_seed`` resets."""

from __future__ import annotations

from typing import Any

import numpy as np

from .devices import CPU, check_device
from .validation import is_int


class Generator:
    """A seeded source of random numbers, as ``torch.Generator``.

    ``Generator().manual_seed(n)`` returns the generator, so PyTorch's
    ``g = torch.Generator().manual_seed(2147483647)`` works as written; pass it as
    ``generator=`` to every random function (``rand``, ``randn``, ``randint``,
    ``randperm``, ``normal``, ``bernoulli``, ``multinomial``, ``Tensor.normal_``,
    ``uniform_``, the ``nn.init`` functions, ``DataLoader``, ``random_split``).
    The streams are NumPy's PCG64: reproducible, but other numbers than torch's.

    Parameters
    ----------
    seed : int, optional
        Initial seed; default 0, like a fresh ``torch.Generator``.
    device : {None, 'cpu'}, optional
        PyTorch's first argument; only the CPU is accepted. ``Generator('cpu')``
        works too.
    """

    def __init__(self, seed: Any = 0, device: Any = None) -> None:
        if isinstance(seed, str) or type(seed).__name__ == "device":
            seed, device = 0, seed  # torch.Generator('cpu')
        check_device(device, "Generator")
        self.device = CPU
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> Generator:
        """Reset the generator to ``seed`` and return it."""
        if not is_int(seed):
            raise TypeError(f"manual_seed expected an int, got {type(seed).__name__}")
        self._seed = int(seed)
        self.np = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def initial_seed(self) -> int:
        """The seed the generator was last reset to."""
        return self._seed

    def seed(self) -> int:
        """Reseed from the operating system's entropy and return the new seed."""
        return self.manual_seed(int(np.random.SeedSequence().entropy) % 2**63)._seed

    def get_state(self) -> dict:
        """The generator's full state, for exact resume."""
        return self.np.bit_generator.state

    def set_state(self, state: dict) -> None:
        """Restore a state from :meth:`get_state`."""
        self.np.bit_generator.state = state


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator: ``rand``, ``randn``, weight init and shuffling repeat."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    """The seed of the default generator."""
    return default_generator.initial_seed()


def get_rng(generator: Generator | None = None) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (default: the global one)."""
    return (generator or default_generator).np


def seed() -> int:
    """Seed the default generator from the operating system's entropy; return the seed."""
    return default_generator.seed()


def sample_multinomial(
    weights: np.ndarray, num_samples: int, replacement: bool, generator: Generator | None
) -> np.ndarray:
    """Indices drawn with probabilities proportional to ``weights`` (one row, or one per row).

    The sampling behind ``retrograd.multinomial`` and ``Tensor.multinomial``, with
    PyTorch's checks: weights finite, non-negative, not all zero; without
    replacement, no more draws than nonzero weights. Returns int64 indices.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim not in (1, 2):
        raise ValueError(f"multinomial(): expected a 1-D or 2-D tensor, got shape {w.shape}")
    if not is_int(num_samples) or num_samples <= 0:
        raise ValueError(f"multinomial(): num_samples must be a positive int, got {num_samples!r}")
    rows = w.reshape(1, -1) if w.ndim == 1 else w
    rng = get_rng(generator)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        if not np.isfinite(row).all() or (row < 0).any() or row.sum() <= 0:
            raise ValueError(
                "multinomial(): probabilities must be finite, non-negative and not all zero"
            )
        nonzero = int((row > 0).sum())
        if not replacement and num_samples > nonzero:
            raise ValueError(
                f"multinomial(): cannot draw {num_samples} samples without replacement from "
                f"{nonzero} nonzero weights"
            )
        out[i] = rng.choice(row.size, size=num_samples, replace=replacement, p=row / row.sum())
    return out[0] if w.ndim == 1 else out
