"""A regression trained with SGD under a StepLR, then AdamW under OneCycleLR and cosine decay.

Rates and losses are recorded each step; gradient clipping by norm on the way.
"""

import numpy as np
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR, StepLR

rng = np.random.default_rng(7)
X = torch.from_numpy(rng.standard_normal((128, 5)).astype(np.float32))
w_true = torch.from_numpy(rng.standard_normal((5, 1)).astype(np.float32))
y = X @ w_true + 0.1 * torch.from_numpy(rng.standard_normal((128, 1)).astype(np.float32))


def make_model():
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.3, p.shape).astype(np.float32)))
    return model


def train(model, optimizer, scheduler, steps):
    losses, rates = [], []
    for _ in range(steps):
        loss = nn.functional.mse_loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        rates.append(scheduler.get_last_lr()[0])
        scheduler.step()
        losses.append(loss.item())
    return losses, rates


m1 = make_model()
opt1 = torch.optim.SGD(m1.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
step_losses, step_rates = train(m1, opt1, StepLR(opt1, step_size=10, gamma=0.5), 40)

m2 = make_model()
opt2 = torch.optim.AdamW(m2.parameters(), lr=1e-2)
cycle_losses, cycle_rates = train(m2, opt2, OneCycleLR(opt2, max_lr=0.05, total_steps=40), 40)

m3 = make_model()
opt3 = torch.optim.Adam(m3.parameters(), lr=0.02)
cos_losses, cos_rates = train(m3, opt3, CosineAnnealingLR(opt3, T_max=30, eta_min=1e-4), 30)

RESULT = {
    "same": {
        "step": step_losses,
        "step_rates": step_rates,
        "cycle": cycle_losses,
        "cycle_rates": cycle_rates,
        "cosine": cos_losses,
        "cosine_rates": cos_rates,
    },
    "check": {"learned": min(step_losses[-1], cycle_losses[-1], cos_losses[-1]) < 0.2},
}
