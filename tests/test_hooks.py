"""Tensor hooks, module hooks, end-of-backward callbacks and grad_fn.next_functions, against torch."""

from __future__ import annotations

import copy
import gc
import re
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd.autograd import graph, queue_callback

DOCS = Path(__file__).resolve().parent.parent / "docs" / "autograd.md"


def _torch_queue_callback(fn):
    torch.autograd.Variable._execution_engine.queue_callback(fn)


QUEUE = {rg: queue_callback, torch: _torch_queue_callback}


def _lists(t):
    return None if t is None else np.round(np.asarray(t.detach().numpy(), np.float64), 5).tolist()


# ------------------------------------------------------------------ tensor hooks
def _tensor_hook_run(lib):
    calls = []
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: calls.append(("x", _lists(g))))
    w.register_hook(lambda g: calls.append(("w", _lists(g))) or g * 10)
    w.register_post_accumulate_grad_hook(lambda t: calls.append(("w post", _lists(t.grad))))
    y = x * w
    y.register_hook(lambda g: calls.append(("y", _lists(g))) or g + 1)
    y.retain_grad()
    z = (y * y + w).sum()  # w is used twice: its hook sees the sum, once
    z.backward()
    return calls, _lists(x.grad), _lists(w.grad), _lists(y.grad)


def test_tensor_hooks_order_counts_and_replacement_match_torch():
    got, want = _tensor_hook_run(rg), _tensor_hook_run(torch)
    assert got == want
    calls = got[0]
    assert [c[0] for c in calls] == ["y", "x", "w", "w post"]


def test_leaf_hook_runs_once_on_the_sum_of_all_paths():
    for lib in (rg, torch):
        seen = []
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(lambda g, seen=seen: seen.append(_lists(g)))
        (x * 2 + x * x + x.exp()).sum().backward()
        assert len(seen) == 1
        np.testing.assert_allclose(seen[0], 2 + 2 * np.array([1, 2]) + np.exp([1, 2]), rtol=1e-5)


def test_mlp_parameter_and_activation_hooks_fire_in_torch_order():
    def run(lib):
        lib.manual_seed(0)
        order = []
        fc1, fc2 = lib.nn.Linear(3, 4), lib.nn.Linear(4, 2)
        for name, p in [("w1", fc1.weight), ("b1", fc1.bias), ("w2", fc2.weight), ("b2", fc2.bias)]:
            p.register_hook(lambda g, name=name: order.append(name))
        h = fc1(lib.ones(5, 3)).relu()
        h.register_hook(lambda g: order.append("h"))
        fc2(h).sum().backward()
        return order

    got = run(rg)
    assert got == run(torch)
    assert got.index("w2") < got.index("h") < got.index("w1")


def test_hook_handle_remove_and_context_manager():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    h = x.register_hook(lambda g: g * 100)
    h.remove()
    h.remove()  # twice is harmless
    with x.register_hook(lambda g: g * 3):
        (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_hook_on_tensor_that_does_not_require_grad_raises():
    for lib in (rg, torch):
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.tensor([1.0]).register_hook(lambda g: g)


def test_post_accumulate_hook_on_non_leaf_raises():
    y = rg.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.register_post_accumulate_grad_hook(lambda t: None)


def test_hook_returning_wrong_shape_names_it():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match=r"hook on the gradient of the output of MulBackward0"):
        y.sum().backward()


def test_hook_on_a_leaf_root_runs():
    for lib in (rg, torch):
        x = lib.tensor(2.0, requires_grad=True)
        x.register_hook(lambda g: g * 5)
        x.backward()
        assert x.grad.item() == 5.0


def test_non_leaf_hook_runs_after_the_tensor_is_gone():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: g * 2)
    z = y.sum()
    del y
    z.backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_hooks_of_dead_leaves_are_forgotten():
    from retrograd.autograd import hooks

    x = rg.tensor([1.0], requires_grad=True)
    x.register_hook(lambda g: g)
    key = id(x)
    assert key in hooks.HOOKED_LEAVES
    ref = weakref.ref(x)
    del x
    assert ref() is None and key not in hooks.HOOKED_LEAVES

    # regression: a hook that refers to its own leaf (a parameter's model) kept every
    # leaf hook alive for good, and every later backward paid for planning leaf nodes
    def make_model():
        model = rg.nn.Linear(2, 1)
        model.weight.register_post_accumulate_grad_hook(lambda p: model.zero_grad())
        return id(model.weight)

    key = make_model()
    gc.collect()
    assert key not in hooks.HOOKED_LEAVES


# ------------------------------------------------------------------ end-of-backward callbacks
def test_queue_callback_outside_backward_raises():
    with pytest.raises(RuntimeError, match="during the backward pass"):
        queue_callback(lambda: None)
    assert graph.queue_callback is queue_callback


def _callback_run(lib):
    events = []
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0], requires_grad=True)

    def hook(g):
        events.append("hook")
        QUEUE[lib](lambda: events.append(("callback", _lists(a.grad), _lists(b.grad))))
        QUEUE[lib](lambda: events.append("second"))

    y = a * 2
    y.register_hook(hook)
    (y.sum() * b).sum().backward()
    return events


def test_queued_callbacks_run_once_at_the_end_like_torch():
    got = _callback_run(rg)
    assert got == _callback_run(torch)
    assert got == ["hook", ("callback", [6.0, 6.0], [6.0]), "second"]


def test_ddp_style_gradient_averaging_at_the_end_of_backward():
    """The pattern a DistributedDataParallel wrapper uses: post-accumulate hooks queue one
    callback per backward pass, which sees every gradient (here it halves them)."""
    model = rg.nn.Sequential(rg.nn.Linear(3, 4), rg.nn.Tanh(), rg.nn.Linear(4, 1))
    state = {"queued": False, "runs": 0}

    def average():
        state["queued"] = False
        state["runs"] += 1
        for p in model.parameters():
            p.grad = p.grad / 2

    def on_grad(p):
        if not state["queued"]:
            state["queued"] = True
            queue_callback(average)

    for p in model.parameters():
        p.register_post_accumulate_grad_hook(on_grad)
    x = rg.randn(5, 3)
    reference = copy.deepcopy(model)
    reference(x).sum().backward()
    for _ in range(2):
        model.zero_grad()
        model(x).sum().backward()
    assert state["runs"] == 2
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy() / 2, rtol=1e-6)


# ------------------------------------------------------------------ module hooks
def _module_hook_run(lib):
    lin = lib.nn.Linear(3, 2)
    with lib.no_grad():
        lin.weight.data = lib.tensor(np.arange(6.0).reshape(2, 3) / 10, dtype=lib.float32)
        lin.bias.data = lib.tensor([0.1, -0.2])
    calls = []
    lin.register_forward_pre_hook(lambda m, a: calls.append(("pre", [tuple(t.shape) for t in a])))
    lin.register_forward_pre_hook(
        lambda m, a, k: calls.append(("pre kw", sorted(k))), with_kwargs=True
    )
    lin.register_forward_hook(lambda m, a, o: calls.append(("fwd", _lists(o))) or o * 2)
    lin.register_forward_hook(lambda m, a, o: calls.append(("first", _lists(o))), prepend=True)
    lin.register_full_backward_pre_hook(
        lambda m, go: calls.append(("bwd pre", [_lists(g) for g in go]))
    )

    def backward_hook(m, grad_input, grad_output):
        calls.append(("bwd", [_lists(g) for g in grad_input], [_lists(g) for g in grad_output]))
        return None if grad_input[0] is None else (grad_input[0] * 3,)

    lin.register_full_backward_hook(backward_hook)
    x = lib.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    (lin(x) ** 2).sum().backward()
    calls.append(("grads", _lists(x.grad), _lists(lin.weight.grad)))
    lin(lib.tensor([[1.0, 2.0, 3.0]])).sum().backward()  # no input requires grad
    return calls


@pytest.mark.filterwarnings("ignore:Full backward hook")
def test_module_hooks_arguments_order_and_replacement_match_torch():
    got = _module_hook_run(rg)
    assert got == _module_hook_run(torch)
    assert [c[0] for c in got[:7]] == ["pre", "pre kw", "first", "fwd", "bwd pre", "bwd", "grads"]


def test_forward_pre_hook_replaces_input_and_with_kwargs():
    for lib in (rg, torch):

        class Scale(lib.nn.Module):
            def forward(self, x, k=1.0):
                return x * k

        m = Scale()
        m.register_forward_pre_hook(lambda mod, args: args[0] + 1)
        h = m.register_forward_pre_hook(lambda mod, a, kw: (a, {"k": 10.0}), with_kwargs=True)
        m.register_forward_hook(lambda mod, a, kw, out: out + kw["k"], with_kwargs=True)
        assert m(lib.tensor([1.0]), k=2.0).tolist() == [30.0]
        h.remove()
        assert m(lib.tensor([1.0]), k=2.0).tolist() == [6.0]


def _two_input_module_run(lib):
    class Bilinear(lib.nn.Module):
        def forward(self, a, flag, b):
            return a * b, a + b

    m = Bilinear()
    seen = []
    m.register_full_backward_hook(
        lambda mod, gi, go: seen.append(([_lists(g) for g in gi], [_lists(g) for g in go]))
    )
    m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 2, go[1]))
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0, 4.0])
    p, s = m(a, "flag", b)
    (p.sum() + (s * s).sum()).backward()
    return seen, _lists(a.grad)


def test_full_backward_hook_several_inputs_and_outputs_match_torch():
    got = _two_input_module_run(rg)
    assert got == _two_input_module_run(torch)
    assert got[0][0][0][1:] == [None, [0.0, 0.0]]  # a non-tensor: None; no grad: zeros


def test_nested_modules_hook_order_matches_torch():
    def run(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))
        order = []
        for name, mod in [("model", model), *[(str(i), m) for i, m in enumerate(model)]]:
            mod.register_forward_pre_hook(lambda m, a, name=name: order.append("pre " + name))
            mod.register_forward_hook(lambda m, a, o, name=name: order.append("fwd " + name))
            mod.register_full_backward_hook(
                lambda m, gi, go, name=name: order.append("bwd " + name)
            )
        model(lib.ones(4, 2, requires_grad=True)).sum().backward()
        return order

    assert run(rg) == run(torch)


def test_module_hooks_survive_state_dict_and_are_not_saved():
    lin = rg.nn.Linear(2, 2)
    seen = []
    lin.register_forward_hook(lambda m, a, o: seen.append(1))
    state = lin.state_dict()
    assert set(state) == {"weight", "bias"}
    other = rg.nn.Linear(2, 2)
    other.load_state_dict(state)
    lin.load_state_dict(other.state_dict())
    lin(rg.ones(1, 2))
    other(rg.ones(1, 2))
    assert seen == [1]


def test_module_hook_handle_removes():
    lin = rg.nn.Linear(2, 2)
    seen = []
    h = lin.register_forward_hook(lambda m, a, o: seen.append(1))
    lin(rg.ones(1, 2))
    h.remove()
    lin(rg.ones(1, 2))
    assert seen == [1]


# ------------------------------------------------------------------ grad_fn
def _structure(fn, depth=0):
    if fn is None:
        return None
    name = fn.name()
    name = "AccumulateGrad" if name.endswith("AccumulateGrad") else name
    return (name, [(_structure(f, depth + 1), nr) for f, nr in fn.next_functions])


def test_next_functions_match_torch_structure():
    def run(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0], requires_grad=True)
        c = lib.tensor([1.0, 1.0])
        y = ((a * b).exp() + a * c).sum()
        return y, a, b

    y, a, b = run(rg)
    ty, _, _ = run(torch)
    assert _structure(y.grad_fn) == _structure(ty.grad_fn)
    mul = y.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0]
    assert mul.name() == "MulBackward0"
    assert mul.next_functions[0][0].variable is a and mul.next_functions[1][0].variable is b
    assert (
        mul.next_functions[0][0]
        is y.grad_fn.next_functions[0][0].next_functions[1][0].next_functions[0][0]
    )


def test_grad_fn_name_is_a_string_and_a_method():
    y = rg.tensor([1.0], requires_grad=True) * 2
    assert y.grad_fn.name == "MulBackward0" and y.grad_fn.name() == "MulBackward0"
    assert f"{y.grad_fn.name}" == "MulBackward0"
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward0>)"


# ------------------------------------------------------------------ docs
def _section(title: str) -> str:
    text = DOCS.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


@pytest.mark.parametrize(
    "title", ["Hooks", "Custom functions", "Anomaly detection and inference mode"]
)
def test_docs_examples_run(title):
    blocks = re.findall(r"```python\n(.+?)```", _section(title), re.S)
    assert blocks
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, f"docs/autograd.md ({title})", "exec"), namespace)


def test_every_section_of_autograd_md_with_examples_is_run_by_a_test():
    """The sections whose examples these tests, test_inplace and test_higher_order run."""
    run = {"In-place operations and views", "Higher-order gradients", "Hooks"}
    run |= {"Custom functions", "Anomaly detection and inference mode"}
    text = DOCS.read_text()
    with_examples = {
        m.group(1)
        for m in re.finditer(r"^## (.+)\n", text, re.M)
        if "```python" in _section(m.group(1))
    }
    assert with_examples == run


# ------------------------------------------------------------------ hooks in the higher-order walk
def _hooked_graph(lib):
    """x, w leaves and h = x*w, k = h*h non-leaves, all hooked or retained; y = sum(k + w)."""
    calls = []

    def note(name):
        return lambda g: calls.append((name, _lists(g), g.requires_grad))

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    w = lib.tensor([3.0, -1.0], requires_grad=True)
    x.register_hook(lambda g: note("x")(g) or g * 10)
    w.register_hook(note("w"))
    w.register_post_accumulate_grad_hook(lambda t: calls.append(("w post", _lists(t.grad), None)))
    h = x * w
    h.register_hook(lambda g: note("h")(g) or g + 1)
    h.retain_grad()
    k = h * h
    k.retain_grad()
    k.register_hook(note("k"))
    y = (k + w).sum()
    return calls, {"x": x, "w": w, "h": h, "k": k}, y


HIGHER_WALKS = {
    "grad x": lambda lib, t, y: lib.autograd.grad(y, t["x"]),
    "grad h": lambda lib, t, y: lib.autograd.grad(y, t["h"]),
    "grad h, x": lambda lib, t, y: lib.autograd.grad(y, [t["h"], t["x"]]),
    "grad x, w, create_graph": lambda lib, t, y: lib.autograd.grad(
        y, [t["x"], t["w"]], create_graph=True
    ),
    "backward inputs x": lambda lib, t, y: y.backward(inputs=[t["x"]]),
    "backward inputs h": lambda lib, t, y: y.backward(inputs=[t["h"]]),
    "backward inputs h, w": lambda lib, t, y: y.backward(inputs=[t["h"], t["w"]]),
    "backward inputs h, x": lambda lib, t, y: y.backward(inputs=[t["h"], t["x"]]),
    "grad k, h": lambda lib, t, y: lib.autograd.grad(y, [t["k"], t["h"]]),
    "grad h twice": lambda lib, t, y: lib.autograd.grad(y, [t["h"], t["h"]]),
    "backward create_graph": lambda lib, t, y: y.backward(create_graph=True),
}


def _higher_walk_run(lib, name):
    calls, t, y = _hooked_graph(lib)
    got = HIGHER_WALKS[name](lib, t, y)
    got = None if got is None else [(_lists(g), g.requires_grad) for g in got]
    grads = {
        n: (_lists(v.grad), None if v.grad is None else v.grad.requires_grad) for n, v in t.items()
    }
    return calls, got, grads


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@pytest.mark.parametrize("name", list(HIGHER_WALKS))
def test_hooks_run_in_the_higher_order_walk_as_in_torch(name):
    """Hooks on the path run in torch's order (and only those); inputs= writes only its inputs."""
    got, want = _higher_walk_run(rg, name), _higher_walk_run(torch, name)
    assert got == want
    assert got[0], "some hook must have run"


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_hook_replacing_a_graph_gradient_is_differentiated_again():
    """Under create_graph a hook gets a graph Tensor; what it returns is differentiated too."""
    out = {}
    for lib in (rg, torch):
        x = lib.tensor([1.0, 2.0, -0.5], requires_grad=True, dtype=lib.float64)
        y = x * x.sin()
        y.register_hook(lambda g, y=y: g * y)  # the gradient now depends on x through y
        x.register_hook(lambda g: g.exp())
        (gx,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (ggx,) = lib.autograd.grad((gx * gx).sum(), x)
        leaf = lib.tensor([0.3, -1.2], requires_grad=True, dtype=lib.float64)
        leaf.register_hook(lambda g: g * g)
        (leaf.pow(3)).sum().backward(create_graph=True)
        first = leaf.grad
        assert first.requires_grad
        out[lib] = [gx.detach().numpy(), ggx.numpy(), first.detach().numpy().copy()]
        first.sum().backward()  # torch adds into ``first`` in place here: compare a copy
        out[lib].append(leaf.grad.detach().numpy())
    for a, b in zip(out[rg], out[torch], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_module_full_backward_hook_in_a_gradient_penalty_matches_torch():
    """A module's full backward hook sees and replaces graph gradients under create_graph."""
    out = {}
    for lib in (rg, torch):
        lib.manual_seed(0)
        w = np.linspace(-1, 1, 12).reshape(4, 3)
        net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 1)).double()
        with lib.no_grad():
            net[0].weight.copy_(lib.tensor(w))
            net[2].weight.fill_(0.5)
            net[0].bias.fill_(0.1)
            net[2].bias.fill_(-0.2)
        seen = []
        net[0].register_full_backward_hook(
            lambda m, gi, go: seen.append((_lists(go[0]), go[0].requires_grad)) or (gi[0] * 2,)
        )
        x = lib.tensor(np.linspace(-2, 2, 6).reshape(2, 3), requires_grad=True)
        loss = net(x).pow(2).mean()
        (gx,) = lib.autograd.grad(loss, x, create_graph=True)
        (loss + gx.pow(2).sum()).backward()
        out[lib] = (seen, _lists(gx), [_lists(p.grad) for p in net.parameters()], _lists(x.grad))
    assert out[rg] == out[torch]


def test_queue_callback_runs_at_the_end_of_autograd_grad_and_create_graph_backward():
    for lib in (rg, torch):
        order = []
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        y.register_hook(lambda g, lib=lib: QUEUE[lib](lambda: order.append("callback")))
        x.register_hook(lambda g: order.append("x hook"))
        lib.autograd.grad(y.sum(), x)
        assert order == ["x hook", "callback"], lib
