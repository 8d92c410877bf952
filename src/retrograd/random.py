"""Random number generation: one default generator that ``manual_seed`` resets."""

from __future__ import annotations

import numpy as np

from .validation import is_int


class Generator:
    """A seeded source of random numbers, as ``torch.Generator``.

    Parameters
    ----------
    seed : int, optional
        Initial seed; default 0, like a fresh ``torch.Generator``.
    """

    def __init__(self, seed: int = 0) -> None:
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
