# %% [markdown]
# # 1. Backpropagation by hand
#
# Training a network is four steps, repeated:
#
# 1. **Forward pass**: each neuron computes its weighted sum $z = \sum_i w_i x_i + b$ and
#    its activation $a = f(z)$; the last layer's activation is the prediction $y_{pred}$.
# 2. **Loss**: $L = \text{Loss}(y_{true}, y_{pred})$ measures the error.
# 3. **Backward pass**: the chain rule gives the gradient of the loss with respect to
#    every weight, from the output back to the input:
#    $\frac{\partial L}{\partial w} = \frac{\partial L}{\partial y_{pred}} \cdot
#    \frac{\partial y_{pred}}{\partial z} \cdot \frac{\partial z}{\partial w}$.
# 4. **Update**: gradient descent moves every weight against its gradient,
#    $w_{new} = w_{old} - \eta \frac{\partial L}{\partial w}$; then repeat.
#
# This tutorial does the four steps with NumPy alone, number by number, on a 2-2-1
# network with sigmoid activations, the XOR sample $x = (1, 0)$ with target 1, the mean
# squared error and $\eta = 0.5$; then it gets the same numbers from
# `retrograd explain` and from the engine.

# %%
import numpy as np

W1 = np.array([[0.50, -0.30], [0.20, 0.40]])  # hidden layer: one row per neuron
b1 = np.array([0.10, -0.10])
W2 = np.array([[0.60, -0.40]])  # output layer
b2 = np.array([0.05])
x = np.array([1.0, 0.0])
y_true = np.array([1.0])
lr = 0.5


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# %% [markdown]
# ## Step 1: the forward pass
#
# Each hidden neuron: $z = w_1 x_1 + w_2 x_2 + b$, then $a = \sigma(z)$. The output
# neuron does the same with the hidden activations as its inputs.

# %%
z1 = W1 @ x + b1
a1 = sigmoid(z1)
z2 = W2 @ a1 + b2
y_pred = sigmoid(z2)
print("hidden z =", z1.round(4), " a =", a1.round(4))
print("output z =", z2.round(4), " y_pred =", y_pred.round(4))
assert np.allclose(z1, [0.6, 0.1]) and np.allclose(a1, [0.6457, 0.5250], atol=1e-4)
assert np.allclose(y_pred, 0.5566, atol=1e-4)

# %% [markdown]
# ## Step 2: the loss
#
# The mean squared error of one output: $L = (y_{pred} - y_{true})^2$.

# %%
loss = np.mean((y_pred - y_true) ** 2)
print(f"L = ({y_pred[0]:.4f} - 1)^2 = {loss:.4f}")
assert round(loss, 4) == 0.1966

# %% [markdown]
# ## Step 3: the backward pass
#
# Output layer. The error signal $\delta = \partial L / \partial z$ is the product of two
# chain-rule factors: $\partial L/\partial y_{pred} = 2 (y_{pred} - y_{true})$ and
# $\partial y_{pred}/\partial z = \sigma'(z) = \sigma(z)(1 - \sigma(z))$. Then
# $\partial z / \partial w = a_{prev}$, so $\partial L / \partial w = \delta \cdot a_{prev}$.

# %%
dL_dy = 2 * (y_pred - y_true)
dy_dz = y_pred * (1 - y_pred)
delta2 = dL_dy * dy_dz
grad_W2 = np.outer(delta2, a1)
grad_b2 = delta2
print(f"dL/dy_pred = {dL_dy[0]:.4f}, sigmoid'(z) = {dy_dz[0]:.4f}, delta = {delta2[0]:.4f}")
print("dL/dW2 =", grad_W2.round(4), " dL/db2 =", grad_b2.round(4))
assert round(delta2[0], 4) == -0.2189 and round(grad_W2[0, 0], 4) == -0.1413

# %% [markdown]
# Hidden layer. Each hidden neuron's activation reaches the loss through the output
# neuron, so its error signal is the output's $\delta$ sent back along the weight that
# connects them, times its own $\sigma'(z)$: $\delta_1 = (W_2^T \delta_2) \odot
# \sigma'(z_1)$. Its weights' gradients are again $\delta \cdot a_{prev}$, here the
# inputs.

# %%
delta1 = (W2.T @ delta2) * a1 * (1 - a1)
grad_W1 = np.outer(delta1, x)
grad_b1 = delta1
print("delta1 =", delta1.round(4))
print("dL/dW1 =", grad_W1.round(4), " dL/db1 =", grad_b1.round(4))
assert np.allclose(delta1, [-0.0301, 0.0218], atol=1e-4)


# %% [markdown]
# A gradient can be checked without the chain rule: move one weight by $\pm\varepsilon$
# and see how the loss changes, $(L(w + \varepsilon) - L(w - \varepsilon)) / 2\varepsilon$.


# %%
def loss_of(W1, b1, W2, b2):
    y = sigmoid(W2 @ sigmoid(W1 @ x + b1) + b2)
    return np.mean((y - y_true) ** 2)


eps = 1e-6
for name, W, grad in [("W1", W1, grad_W1), ("W2", W2, grad_W2)]:
    for i, j in np.ndindex(W.shape):
        plus, minus = W.copy(), W.copy()
        plus[i, j] += eps
        minus[i, j] -= eps
        args = (plus, b1, W2, b2) if name == "W1" else (W1, b1, plus, b2)
        args_minus = (minus, b1, W2, b2) if name == "W1" else (W1, b1, minus, b2)
        fd = (loss_of(*args) - loss_of(*args_minus)) / (2 * eps)
        print(f"dL/d{name}[{i},{j}]: chain rule {grad[i, j]:+.6f}, finite difference {fd:+.6f}")
        assert abs(fd - grad[i, j]) < 1e-8

# %% [markdown]
# ## Step 4: the update, and the loss after it

# %%
W1_new, b1_new = W1 - lr * grad_W1, b1 - lr * grad_b1
W2_new, b2_new = W2 - lr * grad_W2, b2 - lr * grad_b2
loss_after = loss_of(W1_new, b1_new, W2_new, b2_new)
print(f"w11 (output) = 0.60 - 0.50*({grad_W2[0, 0]:.4f}) = {W2_new[0, 0]:.4f}")
print(f"L after the update = {loss_after:.4f} (before: {loss:.4f})")
assert round(W2_new[0, 0], 4) == 0.6707 and round(loss_after, 4) == 0.1574

# %% [markdown]
# ## Repeat
#
# The same four steps in a loop, until the loss on this sample is small:

# %%
import matplotlib.pyplot as plt

params = [W1.copy(), b1.copy(), W2.copy(), b2.copy()]
losses = []
for _ in range(200):
    W1_, b1_, W2_, b2_ = params
    a1_ = sigmoid(W1_ @ x + b1_)
    y_ = sigmoid(W2_ @ a1_ + b2_)
    losses.append(np.mean((y_ - y_true) ** 2))
    d2 = 2 * (y_ - y_true) * y_ * (1 - y_)
    d1 = (W2_.T @ d2) * a1_ * (1 - a1_)
    grads = [np.outer(d1, x), d1, np.outer(d2, a1_), d2]
    params = [p - lr * g for p, g in zip(params, grads, strict=True)]
print(f"loss after 1, 10, 100, 200 steps: {losses[1]:.4f} {losses[10]:.4f} "
      f"{losses[100]:.4f} {losses[-1]:.4f}")  # fmt: skip
assert losses[1] < losses[0] and losses[-1] < 0.01

plt.figure(figsize=(5, 3))
plt.plot(losses)
plt.xlabel("step")
plt.ylabel("loss")
plt.title("gradient descent on one sample")

# %% [markdown]
# ## The same step with `retrograd explain`
#
# `retrograd explain` runs this step through the engine and prints every number above,
# each gradient beside its finite-difference estimate. On the command line it is
# `retrograd explain`; here it runs as `python -m retrograd explain`.

# %%
import subprocess
import sys

out = subprocess.run(
    [sys.executable, "-m", "retrograd", "explain"], capture_output=True, text=True, check=True
).stdout
print("\n".join(out.splitlines()[:8]), "\n...")
print("\n".join(line for line in out.splitlines() if "after the update" in line))
assert "0.6457" in out and "-0.2189" in out and "L after the update = 0.1574" in out

# %% [markdown]
# From Python, `retrograd.explain.explain_step` returns the same record as arrays:

# %%
from retrograd.explain import explain_step

exp = explain_step([(W1, b1), (W2, b2)], x, y_true, activation="sigmoid", loss="mse", lr=0.5)
hidden, output = exp.layers
print("delta (output) =", output.delta, " dL/dW2 =", output.grad_weight)
np.testing.assert_allclose(output.grad_weight, grad_W2)
np.testing.assert_allclose(hidden.grad_weight, grad_W1)
np.testing.assert_allclose(exp.loss_after, loss_after)

# %% [markdown]
# ## The same step with the engine
#
# With `retrograd`'s tensors the backward pass is one call: the engine recorded the
# forward computation and applies the chain rule to it. The gradients are the ones
# computed by hand.

# %%
import retrograd as rg
from retrograd import nn, optim

model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid()).double()
with rg.no_grad():
    for layer, (W, b) in zip([model[0], model[2]], [(W1, b1), (W2, b2)], strict=True):
        layer.weight.copy_(rg.tensor(W))
        layer.bias.copy_(rg.tensor(b))
optimizer = optim.SGD(model.parameters(), lr=0.5)

loss_t = nn.MSELoss()(model(rg.tensor(x[None])), rg.tensor(y_true[None]))  # forward pass and loss
optimizer.zero_grad()
loss_t.backward()  # backward pass
print("engine dL/dW1 =", model[0].weight.grad.numpy().round(4))
np.testing.assert_allclose(model[0].weight.grad.numpy(), grad_W1)
np.testing.assert_allclose(model[2].weight.grad.numpy(), grad_W2)
optimizer.step()  # update
after = nn.MSELoss()(model(rg.tensor(x[None])), rg.tensor(y_true[None])).item()
print(f"L after the update = {after:.4f}")
assert round(after, 4) == 0.1574
