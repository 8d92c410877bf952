# %% [markdown]
# # 6. Many processes: the same run under `mpiexec`
#
# `retrograd.distributed` trains one model on several processes (ranks) with MPI:
# synchronous data-parallel SGD. Every rank holds a replica of the model, takes its
# share of each global batch, and one `Allreduce` per step averages the gradients, so
# every replica takes the same step. With dropout off, K ranks train the model that one
# process trains on the same batches: this tutorial runs a script on one process and on
# two and compares the numbers. It needs `pip install 'retrograd[mpi]'` (mpi4py and the
# mpich wheel, which brings `mpiexec`). See [Several processes](../distributed.md).

# %%
import json
import shutil
import subprocess
import sys
from pathlib import Path

SCRIPT = """\
import json
import sys

import retrograd as rg
from retrograd import distributed as dist
from retrograd import fit, nn, optim
from retrograd.data import DataLoader, TensorDataset, load_dataset

dist.init()  # the MPI world when launched by mpiexec; else a world of one
rg.manual_seed(0)  # the same seed on every rank: same weights, same shuffled batches
digits = load_dataset("digits")
X, y = rg.tensor(digits.X / 16, dtype=rg.float32), rg.tensor(digits.y)
loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)  # global batches
model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
history = fit(model, nn.CrossEntropyLoss(), opt, loader, max_epochs=5, progress=False)
if dist.is_main():  # only rank 0 prints and writes
    print(f"rank 0 of {dist.world_size()}: losses", [round(v, 6) for v in history.train_loss])
    json.dump({"loss": history.train_loss, "checksum": dist.parameters_checksum(model)},
              open(sys.argv[1], "w"))
"""
Path("train_mpi.py").write_text(SCRIPT)
print(f"wrote train_mpi.py ({len(SCRIPT.splitlines())} lines)")

# %% [markdown]
# The script is an ordinary training script; `dist.init()` and `dist.is_main()` are
# its only distributed lines (`fit` asks `retrograd.distributed` how many ranks there
# are and shards each batch). On one process it runs as usual:


# %%
def run(command):
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    print(proc.stdout.rstrip())


run([sys.executable, "train_mpi.py", "one.json"])

# %% [markdown]
# And on two ranks, started by `mpiexec -n 2 python train_mpi.py two.json`:

# %%
mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
run([mpiexec, "-n", "2", sys.executable, "train_mpi.py", "two.json"])

one, two = json.load(open("one.json")), json.load(open("two.json"))
for epoch, (a, b) in enumerate(zip(one["loss"], two["loss"], strict=True), 1):
    print(f"epoch {epoch}: one process {a:.8f}   two ranks {b:.8f}   difference {abs(a - b):.1e}")
    assert abs(a - b) <= 1e-5 * abs(a)

# %% [markdown]
# The losses agree to float32 rounding: the two ranks' gradients, averaged weighted by
# their rows, are the gradient of the whole batch, summed in another order. The
# parameters' checksums say whether two runs ended bit for bit equal, which they need
# not in float32:

# %%
print("one process:", one["checksum"][:16], " two ranks:", two["checksum"][:16])

# %%
import matplotlib.pyplot as plt

plt.figure(figsize=(5, 3))
plt.plot(range(1, 6), one["loss"], "o-", label="1 process", linewidth=3)
plt.plot(range(1, 6), two["loss"], "x--", label="2 ranks")
plt.xlabel("epoch")
plt.ylabel("training loss")
plt.legend()

# %% [markdown]
# ## The command line
#
# `retrograd train` is the same under `mpiexec`: every rank trains, rank 0 prints and
# writes the run folder. On two ranks and on one, with the same options, the test
# accuracy is the same.

# %%
options = ["train", "--data", "digits", "--hidden", "32", "--epochs", "5"]
run([mpiexec, "-n", "2", sys.executable, "-m", "retrograd", *options, "--out", "runs/two"])
run([sys.executable, "-m", "retrograd", *options, "--out", "runs/one"])
accuracy = {
    name: json.load(open(f"runs/{name}/metrics.json"))["test_accuracy"] for name in ("one", "two")
}
print(accuracy)
assert abs(accuracy["one"] - accuracy["two"]) < 0.01
