"""Run retrograd's benchmark suite, or one part of it.

Usage::

    .venv/bin/python bench/run.py all                 # every part, one after another
    .venv/bin/python bench/run.py mlp                 # one part
    .venv/bin/python bench/run.py mlp --rounds 3      # options after the part go to it

Parts (each a script in ``bench/``, runnable alone too; each prints a
Markdown report with the date, machine, library versions and thread settings):

- ``mlp``: training speed of a 784-256-128-10 MLP against PyTorch eager and
  hand-written NumPy (``mlp.py``);
- ``ops``: the cost of each recorded operation (``ops.py``);
- ``sklearn``: ``retrograd.sklearn`` against scikit-learn's MLPs (``sklearn_fit.py``);
- ``memory``: peak memory of the batch-512 epoch (``memory.py``);
- ``import``: time to ``import retrograd`` (``import_time.py``);
- ``threads``: default BLAS threads on an idle and a busy machine (``threads.py``);
- ``conv``: convolutional layers and LeNet-5 training against PyTorch eager (``conv.py``).

Every part runs each library in its own process, alternated over rounds
(``_harness.py``); on a shared machine, run it when nothing else is busy.
"""

from __future__ import annotations

import os
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
PARTS = {
    "mlp": "mlp.py",
    "ops": "ops.py",
    "sklearn": "sklearn_fit.py",
    "memory": "memory.py",
    "import": "import_time.py",
    "threads": "threads.py",
    "conv": "conv.py",
}


def run_part(name: str, args: list[str]) -> int:
    """Run one part's script in a child interpreter; its report goes to this stdout."""
    print(f"\n## bench/{PARTS[name]}\n", flush=True)
    return subprocess.run([sys.executable, os.path.join(_HERE, PARTS[name]), *args]).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in (*PARTS, "all"):
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    part, rest = argv[0], argv[1:]
    if part != "all":
        return run_part(part, rest)
    if rest:
        print("run.py all takes no options; give them to one part", file=sys.stderr)
        return 2
    failed = [name for name in PARTS if run_part(name, []) != 0]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
