# %% [markdown]
# # 2. The engine: tensors, the recorded graph, backward, gradcheck, a custom op
#
# retrograd's engine is a `Tensor` that records the operations done on it. `backward()`
# walks that record from the output back to the leaves and applies each operation's
# derivative: the chain rule of tutorial 1, for any graph.

# %% [markdown]
# ## Tensors
#
# PyTorch's names and semantics: Python floats become `float32`, NumPy arrays keep
# their dtype, broadcasting follows NumPy's rules.

# %%
import numpy as np

import retrograd as rg

a = rg.tensor([[1.0, 2.0], [3.0, 4.0]])
b = rg.tensor([10.0, 20.0])
c = a * b + 1  # b is broadcast over the rows
print(c, c.dtype, c.shape)
assert c.tolist() == [[11.0, 41.0], [31.0, 81.0]] and c.dtype == rg.float32

# %% [markdown]
# ## The recorded graph
#
# A tensor made with `requires_grad=True` is a **leaf**: a parameter to learn. Every
# operation on it records a node, `grad_fn`, that knows its inputs' nodes
# (`next_functions`) and how to send a gradient back to them.

# %%
w = rg.tensor([[0.5, -0.3]], requires_grad=True)
bias = rg.tensor([0.1], requires_grad=True)
x = rg.tensor([[1.0, 0.0]])
y_pred = (x @ w.T + bias).sigmoid()
loss = ((y_pred - 1.0) ** 2).sum()
print("loss.grad_fn:", loss.grad_fn)
print("its inputs:  ", loss.grad_fn.next_functions)
assert loss.grad_fn.name() == "SumBackward0"

# %% [markdown]
# `retrograd.viz.draw_graph` writes the whole graph as Graphviz DOT text (with
# Graphviz's `dot` program installed it also writes SVG or PNG). Here the same walk
# draws it with matplotlib: boxes are operations, ellipses the leaves.

# %%
from retrograd.viz import draw_graph

print(draw_graph(loss, names={"w": w, "bias": bias}))

# %%
import matplotlib.pyplot as plt


def graph_levels(tensor):
    """The graph's nodes by distance from the output, and its edges (iterative walk)."""
    levels, edges, seen = {}, [], set()
    stack = [(tensor.grad_fn, 0)]
    while stack:
        node, depth = stack.pop()
        levels[node] = max(levels.get(node, 0), depth)
        for parent, _ in getattr(node, "next_functions", ()):
            if parent is not None:
                edges.append((parent, node))
                if id(parent) not in seen or levels[parent] < depth + 1:
                    seen.add(id(parent))
                    stack.append((parent, depth + 1))
    return levels, edges


levels, edges = graph_levels(loss)
rows = {}
for node, depth in levels.items():
    rows.setdefault(depth, []).append(node)
pos = {n: (i - (len(ns) - 1) / 2, -d) for d, ns in rows.items() for i, n in enumerate(ns)}
fig, ax = plt.subplots(figsize=(6, 5))
for parent, child in edges:
    (x0, y0), (x1, y1) = pos[parent], pos[child]
    ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "color": "gray"})
for node, (px, py) in pos.items():
    name = node.name()
    style = "round" if name == "AccumulateGrad" else "square"
    ax.text(px, py, name, ha="center", va="center", bbox={"boxstyle": style, "fc": "#eaf2f8"})
ax.set_xlim(-1.5, 1.5)
ax.set_ylim(-max(rows) - 0.5, 0.5)
ax.axis("off")
ax.set_title("the graph behind loss (output at the top)")
print(len(levels), "nodes")
assert len(levels) >= 6

# %% [markdown]
# ## Backward
#
# `loss.backward()` fills the leaves' `.grad`. For this one neuron,
# $\partial L / \partial w = 2(y_{pred} - 1) \cdot \sigma'(z) \cdot x$: the engine gives
# the value the chain rule gives by hand.

# %%
loss.backward()
z = 0.5 * 1.0 + 0.1
s = 1 / (1 + np.exp(-z))
by_hand = 2 * (s - 1) * s * (1 - s) * np.array([1.0, 0.0])
print("w.grad =", w.grad, " by hand:", by_hand)
np.testing.assert_allclose(w.grad.numpy()[0], by_hand, rtol=1e-5)

# %% [markdown]
# Gradients **accumulate** in leaves, as in PyTorch: a second forward and backward adds
# to `.grad`, which is why training loops call `zero_grad()`. The graph's saved values
# are freed by `backward()`, so a second `backward()` through the same graph raises
# unless the first passed `retain_graph=True`.

# %%
((x @ w.T + bias).sigmoid() - 1.0).pow(2).sum().backward()
print("after a second backward:", w.grad)
np.testing.assert_allclose(w.grad.numpy()[0], 2 * by_hand, rtol=1e-5)
try:
    loss.backward()
except RuntimeError as e:
    print("RuntimeError:", str(e)[:90], "...")
else:
    raise AssertionError("a second backward through a freed graph must raise")

# %% [markdown]
# ## gradcheck
#
# `gradcheck` compares the engine's gradients with central finite differences,
# $(f(x + \varepsilon) - f(x - \varepsilon)) / 2\varepsilon$, element by element, in
# float64.

# %%
t = rg.randn(3, 4, dtype=rg.float64, requires_grad=True)
ok = rg.gradcheck(lambda t: (t.tanh() * t).logsumexp(1), [t])
print("gradcheck:", ok)
assert ok

# %% [markdown]
# ## A custom op: `retrograd.autograd.Function`
#
# An operation the engine does not have is a `Function` with a `forward` and a
# `backward`, as in `torch.autograd.Function`. Here the "swish" $x \sigma(x)$, whose
# derivative is $\sigma(x) + x \sigma(x)(1 - \sigma(x))$.


# %%
class Swish(rg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        s = x.sigmoid()
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad_output):
        x, s = ctx.saved_tensors
        return grad_output * (s + x * s * (1 - s))


u = rg.tensor([-2.0, 0.0, 3.0], dtype=rg.float64, requires_grad=True)
Swish.apply(u).sum().backward()
print("Swish(u) =", Swish.apply(u.detach()), " grad =", u.grad)
assert rg.gradcheck(Swish.apply, [rg.randn(5, dtype=rg.float64, requires_grad=True)])
np.testing.assert_allclose(u.grad.numpy()[1], 0.5)  # sigmoid(0) + 0
