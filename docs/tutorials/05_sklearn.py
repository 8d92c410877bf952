# %% [markdown]
# # 5. scikit-learn: the estimators in a Pipeline and GridSearchCV
#
# `retrograd.sklearn.MLPClassifier` and `MLPRegressor` take the parameters of
# scikit-learn's `sklearn.neural_network` estimators, with the same defaults, and
# follow its estimator rules, so they fit wherever a scikit-learn estimator fits:
# here in a `Pipeline` after a scaler, tuned by `GridSearchCV`. The data: 569 breast
# tumours, 30 measurements each, malignant or benign.

# %%
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from retrograd.sklearn import MLPClassifier

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
pipeline = make_pipeline(StandardScaler(), MLPClassifier(max_iter=300, random_state=0))
pipeline.fit(X_train, y_train)
print(f"test accuracy: {pipeline.score(X_test, y_test):.4f}")
assert pipeline.score(X_test, y_test) > 0.95

# %% [markdown]
# The fitted estimator has scikit-learn's attributes: `classes_`, `coefs_`,
# `intercepts_`, `n_iter_`, `loss_curve_`...

# %%
clf = pipeline[-1]
print("classes:", clf.classes_, " layer shapes:", [c.shape for c in clf.coefs_])
print("epochs:", clf.n_iter_, " final loss:", round(clf.loss_curve_[-1], 4))
assert [c.shape for c in clf.coefs_] == [(30, 100), (100, 1)]

# %% [markdown]
# ## Tuning with GridSearchCV
#
# `GridSearchCV` clones the pipeline for every combination of parameters and every
# fold (`get_params`/`set_params` work through the pipeline's `step__parameter`
# names), and refits the best on all the training rows.

# %%
grid = GridSearchCV(
    pipeline,
    {"mlpclassifier__hidden_layer_sizes": [(8,), (64,)], "mlpclassifier__alpha": [1e-4, 1.0]},
    cv=3,
)
grid.fit(X_train, y_train)
for params, score in zip(
    grid.cv_results_["params"], grid.cv_results_["mean_test_score"], strict=True
):
    print(f"{params}  mean validation accuracy {score:.4f}")
print("best:", grid.best_params_, f" test accuracy {grid.score(X_test, y_test):.4f}")
assert len(grid.cv_results_["params"]) == 4 and grid.score(X_test, y_test) > 0.95

# %% [markdown]
# ## Against scikit-learn's own MLP
#
# With the same parameters and `random_state`, scikit-learn's `MLPClassifier` trains the
# same kind of network with the same rules (Adam, L2 penalty `alpha`, its convergence
# test); the two start from different random weights (each library draws its own), so
# their scores are close rather than equal.

# %%
from sklearn.neural_network import MLPClassifier as SklearnMLP

theirs = make_pipeline(StandardScaler(), SklearnMLP(max_iter=300, random_state=0))
theirs.fit(X_train, y_train)
ours_score, their_score = pipeline.score(X_test, y_test), theirs.score(X_test, y_test)
print(f"retrograd {ours_score:.4f}   scikit-learn {their_score:.4f}")
assert abs(ours_score - their_score) < 0.04

# %%
import matplotlib.pyplot as plt

plt.figure(figsize=(5, 3))
plt.plot(clf.loss_curve_, label="retrograd")
plt.plot(theirs[-1].loss_curve_, "--", label="scikit-learn")
plt.xlabel("epoch")
plt.ylabel("training loss (log-loss + penalty)")
plt.yscale("log")
plt.legend()
assert np.all(np.isfinite(clf.loss_curve_))
