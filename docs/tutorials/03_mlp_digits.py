# %% [markdown]
# # 3. Training an MLP on digits, from Python and from the command line
#
# The `digits` data set holds 1797 images of handwritten digits, 8x8 pixels with values
# 0-16, flattened into rows of 64 features. This tutorial trains a multilayer
# perceptron on it twice: written out in Python with `retrograd.nn` and
# `retrograd.fit`, then with `retrograd train`; and it reads the learning curves and
# the confusion matrix of each.

# %%
import numpy as np

import retrograd as rg
from retrograd import nn, optim
from retrograd.data import (
    DataLoader,
    Standardizer,
    TensorDataset,
    load_dataset,
    train_val_test_split,
)

digits = load_dataset("digits")
print(digits.X.shape, digits.y.shape, digits.task, "classes:", digits.classes)
parts = train_val_test_split(
    digits.X, digits.y, val_size=0.15, test_size=0.25, task="classification", seed=0
)
scaler = Standardizer().fit(parts.X_train)  # the training part's statistics only


def as_tensors(X, y):
    return rg.tensor(scaler.transform(X), dtype=rg.float32), rg.tensor(y)


X_train, y_train = as_tensors(parts.X_train, parts.y_train)
X_val, y_val = as_tensors(parts.X_val, parts.y_val)
X_test, y_test = as_tensors(parts.X_test, parts.y_test)
print("train / validation / test rows:", len(y_train), len(y_val), len(y_test))
assert len(y_train) + len(y_val) + len(y_test) == 1797

# %% [markdown]
# ## From Python
#
# A 64-128-10 network with ReLU, the cross-entropy loss on the 10 class scores, Adam,
# and `retrograd.fit`: the loop of the README (zero the gradients, forward, loss,
# backward, step) over mini-batches, with a validation pass after every epoch and
# early stopping when the validation loss stops improving.

# %%
rg.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
optimizer = optim.Adam(model.parameters(), lr=1e-3)
loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)
history = rg.fit(
    model,
    nn.CrossEntropyLoss(),
    optimizer,
    loader,
    [(X_val, y_val)],
    max_epochs=30,
    early_stopping=True,
    patience=5,
    metric="accuracy",
    progress=False,
)
print(f"{history.n_epochs} epochs, best {history.best_epoch}: {history.stop_reason}")
model.eval()
with rg.no_grad():
    predicted = model(X_test).argmax(1).numpy()
test_accuracy = float(np.mean(predicted == y_test.numpy()))
print(f"test accuracy: {test_accuracy:.4f}")
assert test_accuracy > 0.95

# %% [markdown]
# ## Reading the curves
#
# The training loss falls every epoch. The validation loss falls with it at first, then
# levels off: from there on the network mostly learns its training rows rather than
# digits. Had the validation loss risen for `patience` epochs, early stopping would
# have ended the run and restored the weights of the best validation epoch (the dotted
# line). The gap between the two accuracies is the price of fitting the training rows.

# %%
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
left.plot(history.train_loss, label="training")
left.plot(history.val_loss, label="validation")
left.set(xlabel="epoch", ylabel="cross-entropy loss", yscale="log")
left.axvline(history.best_epoch - 1, color="gray", linestyle=":")
left.legend()
right.plot(history.train_metric, label="training")
right.plot(history.val_metric, label="validation")
right.set(xlabel="epoch", ylabel="accuracy")
right.legend()
assert history.train_loss[-1] < history.train_loss[0] / 5

# %% [markdown]
# ## Reading the confusion matrix
#
# Row *i*, column *j* counts the test images of digit *i* that the network called *j*:
# the diagonal holds the correct answers, and the cells off it say which digits are
# confused with which.

# %%
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (y_test.numpy(), predicted), 1)
print(confusion)
errors = confusion - np.diag(np.diag(confusion))
true, guess = np.unravel_index(errors.argmax(), errors.shape)
print(f"most frequent mistake: {true} read as {guess} ({errors[true, guess]} times)")
assert confusion.trace() == round(test_accuracy * len(predicted))

plt.figure(figsize=(4, 4))
plt.imshow(confusion, cmap="Blues")
plt.xlabel("predicted")
plt.ylabel("true")
plt.xticks(range(10))
plt.yticks(range(10))
plt.title("test set")

# %% [markdown]
# ## From the command line
#
# `retrograd train` does the same job with the same pieces (a stratified split, the
# standardisation, an MLP, `fit`) and writes a run folder: the model, `metrics.json`,
# `curves.png` and a checkpoint. Its default network is larger (512 and 256 hidden
# units); `--hidden 128` asks for the network above, `--epochs` caps the training. On
# the command line this is
# `retrograd train --data digits --hidden 128 --epochs 30 --out runs/digits`; here it
# runs as `python -m retrograd`.

# %%
import json
import subprocess
import sys


def retrograd_cli(*args):
    """Run `retrograd ARGS` and print what it prints (the progress bar goes to stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "retrograd", *args], capture_output=True, text=True, check=True
    )
    print(proc.stdout.rstrip())


retrograd_cli(
    "train", "--data", "digits", "--hidden", "128", "--epochs", "30", "--out", "runs/digits"
)
metrics = json.load(open("runs/digits/metrics.json"))
assert metrics["test_accuracy"] > 0.96

# %% [markdown]
# `curves.png` holds the same curves as above:

# %%
plt.figure(figsize=(9, 3.5))
plt.imshow(plt.imread("runs/digits/curves.png"))
plt.axis("off")

# %% [markdown]
# `retrograd evaluate` scores the saved model on the test part of the same split and
# prints the per-class precision and recall and the confusion matrix; `--plot` draws it.

# %%
retrograd_cli("evaluate", "runs/digits", "--data", "digits", "--split", "test", "--plot", "cm.png")
plt.figure(figsize=(4.5, 4.5))
plt.imshow(plt.imread("cm.png"))
plt.axis("off")
