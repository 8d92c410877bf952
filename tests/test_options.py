"""The rules every option value is checked by (retrograd.options): one lookup, one table of ranges."""

from __future__ import annotations

import math

import numpy as np
import pytest

from retrograd import optim, pipeline
from retrograd.nn.activation import ACTIVATIONS
from retrograd.nn.loss import LOSSES
from retrograd.options import NUMERIC, OptionError, Range, check_number, lookup


def test_lookup_ignores_case_spaces_and_dash_versus_underscore():
    for spelling in ("leaky_relu", "leaky-relu", "LEAKY_RELU", "Leaky-ReLU", " leaky_relu "):
        assert lookup(ACTIVATIONS, spelling, "activation") == "leaky_relu"
    assert lookup(LOSSES, "Smooth_L1", "loss") == "smooth-l1"  # the table's own spelling back
    assert lookup(optim.OPTIMIZERS, "AdamW", "optimizer") == "adamw"


def test_lookup_refuses_other_names_listing_the_valid_ones():
    with pytest.raises(
        ValueError, match=r"unknown activation 'leaky relu'; expected one of 'relu'"
    ):
        lookup(ACTIVATIONS, "leaky relu", "activation")
    with pytest.raises(ValueError, match="'smooth-l1'"):
        lookup(LOSSES, "", "loss")
    with pytest.raises(TypeError, match="activation must be a name"):
        lookup(ACTIVATIONS, 3, "activation")


def test_the_api_resolves_names_through_lookup():
    assert pipeline.get_activation("Leaky-ReLU") is ACTIVATIONS["leaky_relu"]
    assert optim.get_optimizer(" RMSProp ") is optim.RMSprop
    assert type(pipeline.get_loss("Cross_Entropy", "classification")) is LOSSES["cross-entropy"].cls


@pytest.mark.parametrize(
    ("rule", "accepted", "refused"),
    [
        (Range(float, low=0, low_open=True), [1e-300, 0.5, 3, np.float32(2)],
         [0, -0.0, -1, math.nan, math.inf, True, "1", None]),
        (Range(float, low=0, high=1, high_open=True), [0, 0.0, 0.999, np.float64(0.5)],
         [1, 1.0, -1e-9, math.nan]),
        (Range(int, low=1), [1, 10**30, np.int64(3)], [0, -1, 1.0, 2.5, True, math.inf]),
        (Range(int, low=0, high=2**32, high_open=True), [0, 2**32 - 1], [-1, 2**32]),
    ],
)  # fmt: skip
def test_a_range_accepts_its_kind_within_its_bounds_and_never_nan_or_bool(rule, accepted, refused):
    for value in accepted:
        assert rule.accepts(value), (rule, value)
    for value in refused:
        assert not rule.accepts(value), (rule, value)


def test_check_number_names_the_option_the_value_and_the_range():
    assert check_number(np.int64(3), "epochs") == 3 and type(check_number(3, "lr")) is float
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0, got 0"):
        check_number(0, "lr")
    with pytest.raises(ValueError, match=r"val_split must be a number in \[0, 1\), got 1"):
        check_number(1, "val_split")
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 4294967296\)"):
        check_number(-1, "seed")


def test_every_numeric_option_of_train_has_a_rule():
    import inspect

    numeric = {
        name
        for name, p in inspect.signature(pipeline.train).parameters.items()
        if isinstance(p.default, int | float) and not isinstance(p.default, bool)
    }
    assert numeric <= set(NUMERIC), numeric - set(NUMERIC)


def test_check_options_names_the_option_it_refuses():
    with pytest.raises(OptionError, match="lr must be") as info:
        pipeline.check_options("classification", lr=-1)
    assert info.value.option == "lr"
    with pytest.raises(OptionError, match="loss 'MSE' is for regression") as info:
        pipeline.check_options("classification", loss="MSE")
    assert info.value.option == "loss"
    with pytest.raises(OptionError, match="their sum must be below 1") as info:
        pipeline.check_options(val_split=0.5, test_split=0.5)
    with pytest.raises(TypeError, match="not an option of train"):
        pipeline.check_options(learning_rate=0.1)
    assert pipeline.check_options("regression", loss="Smooth_L1", lr=1) == {
        "loss": "smooth-l1",
        "lr": 1.0,
    }


def test_train_refuses_what_the_cli_refuses_before_training():
    # lr 0 was accepted by pipeline.train and refused by retrograd train (issue 17).
    with pytest.raises(OptionError, match="lr must be a finite number > 0, got 0"):
        pipeline.train("iris", lr=0, quiet=True)
    with pytest.raises(OptionError, match="momentum"):
        pipeline.train("iris", momentum=1.0, quiet=True)


def test_the_newer_activations_are_registered_names_with_pytorchs_spellings():
    from retrograd import explain, nn

    for spelling, cls in [
        ("SiLU", nn.SiLU),
        ("mish", nn.Mish),
        ("Hardtanh", nn.Hardtanh),
        ("PReLU", nn.PReLU),
        ("LogSigmoid", nn.LogSigmoid),
        ("Softsign", nn.Softsign),
    ]:
        assert ACTIVATIONS[lookup(ACTIVATIONS, spelling, "activation")] is cls
        network = pipeline.build_mlp(3, (4,), 2, activation=spelling, seed=0)
        assert any(type(m) is cls for m in network.modules()), spelling
    weights, _ = explain.default_network((2, 2, 2), 0, None)
    explain.explain_step(weights, [1.0, 0.0], 1, "silu", "mse", 0.5)  # parameter-free: shown
    with pytest.raises(explain.ExplainError, match="'prelu' learns its own weights"):
        explain.explain_step(weights, [1.0, 0.0], 1, "PReLU", "mse", 0.5)
