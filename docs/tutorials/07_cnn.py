# %% [markdown]
# # 7. A convolutional network on digits
#
# A multilayer perceptron sees the 64 pixels of a digit as 64 unrelated numbers. A
# convolutional network keeps the image's shape: each `Conv2d` layer slides small
# learned filters (here 3x3) over its input, so a stroke is recognised wherever it is,
# and `MaxPool2d` halves the resolution while keeping the strongest responses. The
# layers are `torch.nn`'s, with the same arguments.

# %%
import numpy as np

import retrograd as rg
from retrograd import nn, optim
from retrograd.data import DataLoader, TensorDataset, load_dataset

digits = load_dataset("digits")  # 1797 rows of 64 pixels (0-16); sample_shape (1, 8, 8)
print("sample shape:", digits.sample_shape)
images = digits.X.reshape(-1, 1, 8, 8) / 16  # (batch, channels, height, width)
order = np.random.default_rng(0).permutation(len(images))  # the rows are by writer: mix them
X, y = rg.tensor(images[order], dtype=rg.float32), rg.tensor(digits.y[order])
X_train, y_train, X_test, y_test = X[:1400], y[:1400], X[1400:], y[1400:]

rg.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding="same"),  # 16 filters of 3x3: 16 x 8 x 8
    nn.ReLU(),
    nn.MaxPool2d(2),  # 16 x 4 x 4
    nn.Conv2d(16, 32, 3, padding="same"),
    nn.ReLU(),
    nn.MaxPool2d(2),  # 32 x 2 x 2
    nn.Flatten(),
    nn.Linear(128, 10),
)
print(model)
print("parameters:", sum(p.numel() for p in model.parameters()))
shape = X_train[:1].shape
for layer in model:
    shape = layer(rg.zeros(*shape)).shape
    print(f"{type(layer).__name__:>10} -> {tuple(shape)}")
assert tuple(shape) == (1, 10)

# %% [markdown]
# Training is the loop of every other network: forward, loss, backward, step.

# %%
optimizer = optim.Adam(model.parameters(), lr=3e-3)
loss_fn = nn.CrossEntropyLoss()
loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)
accuracies = []
for epoch in range(6):
    model.train()
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with rg.no_grad():
        predicted = model(X_test).argmax(1)
    accuracies.append((predicted == y_test).float().mean().item())
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {accuracies[-1]:.4f}")
assert accuracies[-1] > 0.93

# %% [markdown]
# ## What the first layer learned
#
# Each of the 16 first-layer filters is a 3x3 pattern of weights; its response is
# large where the image under it looks like it. Below: the filters, then one test
# digit and the 16 maps of the first layer's responses (after the ReLU).

# %%
import matplotlib.pyplot as plt

filters = model[0].weight.detach().numpy()[:, 0]  # (16, 3, 3)
fig, axes = plt.subplots(2, 8, figsize=(8, 2.2))
for ax, f in zip(axes.flat, filters, strict=True):
    ax.imshow(f, cmap="RdBu_r", vmin=-abs(filters).max(), vmax=abs(filters).max())
    ax.axis("off")
fig.suptitle("first-layer filters (red positive, blue negative)")

with rg.no_grad():
    maps = model[1](model[0](X_test[:1])).numpy()[0]  # (16, 8, 8)
fig, axes = plt.subplots(2, 9, figsize=(9, 2.2))
axes[0, 0].imshow(X_test[0, 0].numpy(), cmap="gray_r")
axes[0, 0].set_title(f"digit {y_test[0].item()}", fontsize=8)
axes[1, 0].axis("off")
for ax, m in zip([*axes[0, 1:], *axes[1, 1:]], maps, strict=True):
    ax.imshow(m, cmap="viridis")
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
assert maps.shape == (16, 8, 8) and (maps >= 0).all()

# %% [markdown]
# ## The mistakes
#
# The test digits the network got wrong, with its answer:

# %%
wrong = np.flatnonzero(predicted.numpy() != y_test.numpy())
print(f"{len(wrong)} of {len(y_test)} test digits wrong")
fig, axes = plt.subplots(1, min(len(wrong), 8), figsize=(8, 1.5), squeeze=False)
for ax, i in zip(axes[0], wrong[: len(axes[0])], strict=True):
    ax.imshow(X_test[int(i), 0].numpy(), cmap="gray_r")
    ax.set_title(f"{y_test[int(i)].item()} read as {predicted[int(i)].item()}", fontsize=8)
    ax.axis("off")
assert len(wrong) == round((1 - accuracies[-1]) * len(y_test))

# %% [markdown]
# On the command line, `retrograd train --data digits --arch cnn` trains a network of
# this kind with the pipeline's split, scaling and early stopping (see
# [the command line](../cli.md)).
