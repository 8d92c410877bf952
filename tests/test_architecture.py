"""The layering of docs/architecture.md: every import in src/retrograd points downward.

Each module gets the rank of its layer; a module may import from its own rank
or below. An import inside a function counts too: a lazy import that points
upward is still a cycle a reader has to untangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "retrograd"

#: Module (dotted, below ``retrograd``; a package name covers its submodules) -> rank.
#: The longest matching prefix wins, so ``nn.functional`` ranks below the rest of ``nn``.
RANKS = {
    "_backend": 0,
    "validation": 0,
    "devices": 0,  # the one device check: stdlib and validation only
    "cuda": 0,
    "_blas": 0,
    "threads": 0,  # NumPy's BLAS: its library and thread count (ops and _blas ask it)
    "autograd": 1,
    "ops": 2,
    "random": 3,
    "tensor": 3,
    "tensor_functions": 4,
    "creation": 4,
    "linalg": 4,
    "gradcheck": 4,
    "autograd.functional": 4,  # jacobian, hessian, ...: functions of Tensors
    "nn.functional": 5,
    "functional": 6,
    "nn": 6,
    "optim": 6,
    "data": 6,
    "utils": 6,
    "metrics": 7,
    "capture": 7,  # replays nn layers; training uses it
    "options": 0,  # stdlib only: optim, nn and every layer above resolve names with it
    "_docstrings": 0,  # stdlib only: shared docstring fields (fill_doc)
    "serialization": 7,
    "viz": 7,
    "distributed": 8,
    "training": 8,
    "explain": 9,
    "sklearn": 9,
    "pipeline": 10,
    "cli": 11,
    "__main__": 12,
}


def rank(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in RANKS:
            return RANKS[key]
    raise KeyError(f"{module} has no layer in tests/test_architecture.py RANKS: add it")


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:  # retrograd/__init__.py re-exports every layer: not ranked
            out.append((".".join(parts), path))
    return out


def imported(module: str, path: Path) -> list[tuple[str, int]]:
    """Every retrograd module that ``module`` imports, with its line."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.startswith("retrograd."):
                target = node.module[len("retrograd.") :]
            else:
                continue
            if not target:  # from . import x: each name is a module or a name in __init__
                found += [(alias.name, node.lineno) for alias in node.names]
                continue
            found.append((target, node.lineno))
            for alias in node.names:  # from .nn import functional: the submodule itself
                sub = f"{target}.{alias.name}"
                if (SRC / Path(*sub.split("."))).with_suffix(".py").exists() or (
                    SRC / Path(*sub.split("."))
                ).is_dir():
                    found.append((sub, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("retrograd."):
                    found.append((alias.name[len("retrograd.") :], node.lineno))
    return found


@pytest.mark.parametrize(("module", "path"), modules(), ids=[m for m, _ in modules()])
def test_imports_point_downward(module: str, path: Path) -> None:
    own = rank(module)
    upward = [
        f"line {line}: {target} (layer {rank(target)})"
        for target, line in imported(module, path)
        if target in RANKS or "." in target or (SRC / target).exists()
        if rank(target) > own
    ]
    assert not upward, f"{module} (layer {own}) imports from higher layers: {upward}"


def test_every_module_has_a_layer() -> None:
    for module, _ in modules():
        rank(module)  # raises KeyError naming the module


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: an engine module importing the training loop is reported."""
    fake = tmp_path / "tensor.py"
    fake.write_text("from .training import fit\nfrom . import nn\n")
    targets = [t for t, _ in imported("tensor", fake)]
    assert "training" in targets and "nn" in targets
    assert rank("training") > rank("tensor") and rank("nn") > rank("tensor")
