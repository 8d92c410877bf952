# %% [markdown]
# # 4. Coming from PyTorch: porting a script
#
# retrograd follows PyTorch's names and semantics on the CPU, so a training script
# written for PyTorch usually ports by changing its imports. This tutorial ports one,
# runs both versions from the same initial weights and compares them step by step,
# then shows what differs (the full list is [For PyTorch users](../pytorch.md)).

# %%
import difflib

TORCH_SCRIPT = """\
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset


def build_model():
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))


def train(model, X, y, epochs=10):
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(X, y), batch_size=30)
    losses = []
    for epoch in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    return losses
"""

RETROGRAD_SCRIPT = (
    TORCH_SCRIPT.replace("import torch\n", "import retrograd as torch\n")
    .replace("from torch import", "from retrograd import")
    .replace("from torch.utils.data", "from retrograd.utils.data")
)
diff = difflib.unified_diff(
    TORCH_SCRIPT.splitlines(), RETROGRAD_SCRIPT.splitlines(), "torch", "retrograd", lineterm=""
)
print("\n".join(diff))

# %% [markdown]
# The port is the three import lines. Both versions run here, on the iris data set
# (150 flowers, 4 measurements, 3 species), standardised, as float32.

# %%
import numpy as np
import torch
from sklearn.datasets import load_iris

import retrograd as rg

X, y = load_iris(return_X_y=True)
X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
order = np.random.default_rng(0).permutation(len(y))  # mix the classes into every batch
X, y = X[order], y[order]

torch_ns, retrograd_ns = {}, {}
exec(TORCH_SCRIPT, torch_ns)
exec(RETROGRAD_SCRIPT, retrograd_ns)

# %% [markdown]
# The two libraries draw other random numbers for the same seed, so the retrograd
# model starts from the PyTorch model's weights: `load_state_dict` takes NumPy arrays,
# and the state dict keys are the same.

# %%
torch.manual_seed(0)
torch_model = torch_ns["build_model"]()
our_model = retrograd_ns["build_model"]()
print(list(our_model.state_dict()) == list(torch_model.state_dict()))
our_model.load_state_dict({k: v.numpy() for k, v in torch_model.state_dict().items()})

torch_losses = torch_ns["train"](torch_model, torch.tensor(X), torch.tensor(y))
our_losses = retrograd_ns["train"](our_model, rg.tensor(X), rg.tensor(y))
print(f"{len(our_losses)} steps; first loss {torch_losses[0]:.6f} (torch) {our_losses[0]:.6f}"
      f" (retrograd); last {torch_losses[-1]:.6f} {our_losses[-1]:.6f}")  # fmt: skip
np.testing.assert_allclose(our_losses, torch_losses, rtol=1e-4)
for name, value in our_model.state_dict().items():
    np.testing.assert_allclose(value.numpy(), torch_model.state_dict()[name].numpy(), atol=1e-5)

# %% [markdown]
# The trajectories agree to float32 rounding (the tests check every optimizer against
# PyTorch to 1e-6 relative in float64):

# %%
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
left.plot(torch_losses, label="PyTorch", linewidth=3)
left.plot(our_losses, "--", label="retrograd")
left.set(xlabel="step", ylabel="loss")
left.legend()
right.plot(np.abs(np.array(our_losses) - np.array(torch_losses)))
right.set(xlabel="step", ylabel="|difference|", yscale="log")

# %% [markdown]
# ## What differs
#
# **Random numbers.** `manual_seed` makes retrograd's draws repeat, but they are not
# PyTorch's: initial weights, shuffling and dropout masks differ for the same seed.
# Copy weights across with `state_dict`, as above, to compare runs.

# %%
torch.manual_seed(0)
rg.manual_seed(0)
print("torch:    ", torch.randn(3))
print("retrograd:", rg.randn(3))

# %% [markdown]
# **One device.** Everything runs on the CPU with NumPy; asking for a GPU raises, with
# the reason.

# %%
try:
    our_model.to("cuda")
except (ValueError, RuntimeError) as e:
    print(type(e).__name__, ":", e)
else:
    raise AssertionError("'cuda' must be refused")

# %% [markdown]
# **Loading in the main process.** `DataLoader(num_workers=0)` gives the same batches
# as PyTorch; worker processes are refused.

# %%
from retrograd.utils.data import DataLoader, TensorDataset

try:
    DataLoader(TensorDataset(rg.tensor(X), rg.tensor(y)), batch_size=30, num_workers=2)
except ValueError as e:
    print("ValueError:", e)

# %% [markdown]
# **Files are safetensors, never pickles.** `retrograd.save` writes what `torch.save`
# would (state dicts, optimizer state, nested dicts), as a safetensors file that
# cannot run code when loaded; PyTorch reads a saved state dict with
# `safetensors.torch.load_file`.

# %%
from safetensors.torch import load_file

rg.save(our_model.state_dict(), "model.safetensors")
again = torch_ns["build_model"]()
again.load_state_dict(load_file("model.safetensors"))
x0 = torch.tensor(X[:2])
print(again(x0))
np.testing.assert_allclose(
    again(x0).detach().numpy(), our_model(rg.tensor(X[:2])).detach().numpy(), rtol=1e-5
)
