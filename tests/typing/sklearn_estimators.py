"""The scikit-learn estimators: fit, predict, score, and a retrograd module out of one."""

from __future__ import annotations

import numpy as np

import retrograd as rg
from retrograd.sklearn import MLPClassifier, MLPRegressor

rng = np.random.default_rng(0)
X = rng.standard_normal((60, 4))
labels = rng.integers(0, 3, 60)
clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
clf.fit(X, labels)
predicted: np.ndarray = clf.predict(X)
proba: np.ndarray = clf.predict_proba(X)
accuracy: float = clf.score(X, labels)
reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, X[:, 0])
r2: float = reg.score(X, X[:, 0])
module: rg.nn.Sequential = clf.to_module()
print(predicted.shape, proba.shape, accuracy, r2, module)
