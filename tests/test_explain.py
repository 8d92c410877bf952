"""``retrograd explain`` and ``retrograd.viz``: one training step shown number by number.

The default 2-2-1 step is checked number by number: every printed number is
parsed back from the text and compared with values derived by hand in NumPy
(sigmoid, MSE, the deltas of the chain rule, dL/dw = delta * a_prev, the
update), independently of the engine that printed them. Then every format and
option runs through the CLI (two in a subprocess, the rest in-process through
click's runner), and the graph drawing is checked on a small graph.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import retrograd as rg
from retrograd import cli, explain, viz

NUMBER = re.compile(r"-?\d+\.\d+(?:e[+-]\d+)?")


def invoke(*args: str):
    return CliRunner().invoke(cli.main, ["explain", *map(str, args)], prog_name="retrograd")


def ok(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def user_error(*args: str) -> str:
    result = invoke(*args)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    return result.stderr


def numbers(line: str) -> list[float]:
    return [float(v) for v in NUMBER.findall(line)]


def close(printed: float, expected: float) -> bool:
    """Printed to 4 decimals (2 for exact given values): within half the last digit."""
    return abs(printed - expected) <= 5.1e-5


def line_of(text: str, start: str, after: str | None = None) -> str:
    """The first line that starts (after stripping) with ``start``, below the line ``after``."""
    lines = text.splitlines()
    if after is not None:
        lines = lines[next(i for i, line in enumerate(lines) if line.strip() == after) + 1 :]
    return next(line for line in lines if line.strip().startswith(start))


# ---------------------------------------------------------------- the default step, by hand


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.fixture(scope="module")
def hand():
    """The default step derived by hand: the textbook formulas in NumPy."""
    W1 = np.array([[0.50, -0.30], [0.20, 0.40]])
    b1 = np.array([0.10, -0.10])
    W2 = np.array([[0.60, -0.40]])
    b2 = np.array([0.05])
    x, y, eta = np.array([1.0, 0.0]), 1.0, 0.5
    z1 = W1 @ x + b1
    a1 = sigmoid(z1)
    z2 = W2 @ a1 + b2
    a2 = sigmoid(z2)
    L = float(np.mean((a2 - y) ** 2))
    grad_y = 2 * (a2 - y) / 1
    d2 = grad_y * a2 * (1 - a2)  # sigmoid'(z) = a (1 - a)
    grad_a1 = W2.T @ d2
    d1 = grad_a1 * a1 * (1 - a1)
    gW2, gb2 = np.outer(d2, a1), d2
    gW1, gb1 = np.outer(d1, x), d1
    nW1, nb1, nW2, nb2 = W1 - eta * gW1, b1 - eta * gb1, W2 - eta * gW2, b2 - eta * gb2
    a2n = sigmoid(nW2 @ sigmoid(nW1 @ x + nb1) + nb2)
    return dict(
        W=[W1, W2], b=[b1, b2], x=x, z=[z1, z2], a=[a1, a2], L=L, grad_y=grad_y,
        delta=[d1, d2], grad_a1=grad_a1, gW=[gW1, gW2], gb=[gb1, gb2], nW=[nW1, nW2],
        nb=[nb1, nb2], L_after=float(np.mean((a2n - y) ** 2)),
    )  # fmt: skip


@pytest.fixture(scope="module")
def default_text() -> str:
    return ok()


def test_the_default_forward_pass_number_by_number(default_text, hand):
    assert "z = 0.50*1.00 + (-0.30)*0.00 + 0.10 = 0.6000" in default_text
    for layer, after in ((0, "layer 1 (hidden, sigmoid)"), (1, "layer 2 (output, sigmoid)")):
        inputs = hand["x"] if layer == 0 else hand["a"][0]
        for j in range(len(hand["z"][layer])):
            got = numbers(line_of(default_text, f"neuron {j + 1}: z =", after))
            expected = [v for pair in zip(hand["W"][layer][j], inputs, strict=True) for v in pair]
            expected += [hand["b"][layer][j], hand["z"][layer][j]]
            assert all(close(g, e) for g, e in zip(got, expected, strict=True)), (got, expected)
            a_line = default_text.splitlines()[
                default_text.splitlines().index(
                    line_of(default_text, f"neuron {j + 1}: z =", after)
                )
                + 1
            ]
            z, a = numbers(a_line)
            assert close(z, hand["z"][layer][j]) and close(a, hand["a"][layer][j])
            assert f"a = sigmoid({z:.4f})" in a_line


def test_the_default_loss_and_backward_pass_number_by_number(default_text, hand):
    y_pred, y_true, L = numbers(line_of(default_text, "L = Loss"))[:3]
    assert close(y_pred, hand["a"][1][0]) and y_true == 1.0 and close(L, hand["L"])
    *_, grad_y = numbers(line_of(default_text, "dL/dy_pred_1"))
    assert close(grad_y, hand["grad_y"][0])
    # output layer: delta = dL/dy_pred * sigmoid'(z)
    out = "layer 2 (output): error signal delta = dL/dz"
    g, z, g2, dadz, delta = numbers(line_of(default_text, "neuron 1: delta", out))
    a2 = hand["a"][1][0]
    assert close(g, hand["grad_y"][0]) and close(g2, g) and close(z, hand["z"][1][0])
    assert close(dadz, a2 * (1 - a2)) and close(delta, hand["delta"][1][0])
    # hidden layer: dL/da = sum_k w_kj delta_k, delta = dL/da * sigmoid'(z)
    hidden = "layer 1 (hidden): error signal delta = dL/dz"
    lines = default_text.splitlines()
    start = lines.index(hidden)
    for j in range(2):
        w, d, total = numbers(line_of(default_text, f"neuron {j + 1}: dL/da", hidden))
        assert close(w, hand["W"][1][0, j]) and close(d, hand["delta"][1][0])
        assert close(total, hand["grad_a1"][j])
        delta_line = lines[lines.index(line_of(default_text, f"neuron {j + 1}: dL/da", hidden)) + 1]
        g, z, g2, dadz, delta = numbers(delta_line)
        a1 = hand["a"][0][j]
        assert close(dadz, a1 * (1 - a1)) and close(delta, hand["delta"][0][j])
    # every dL/dw = delta * a_prev and dL/db = delta, with its finite difference
    for layer, header in ((1, out), (0, hidden)):
        inputs = hand["x"] if layer == 0 else hand["a"][0]
        for j in range(hand["gW"][layer].shape[0]):
            for i in range(hand["gW"][layer].shape[1]):
                line = line_of(default_text, f"dL/dw{j + 1}{i + 1} =", header)
                delta, a_prev, grad, fd, rel = numbers(line)
                assert close(delta, hand["delta"][layer][j]) and close(a_prev, inputs[i])
                assert close(grad, hand["gW"][layer][j, i]) and close(fd, grad)
                assert "agree" in line and rel < 1e-5
            grad, fd, rel = numbers(line_of(default_text, f"dL/db{j + 1} =", header))
            assert close(grad, hand["gb"][layer][j]) and close(fd, grad) and rel < 1e-5
    assert start > lines.index(out)  # output layer first


def test_the_default_update_and_the_loss_after(default_text, hand):
    for layer in (0, 1):
        header = f"layer {layer + 1}"
        for j in range(hand["W"][layer].shape[0]):
            for i in range(hand["W"][layer].shape[1]):
                old, eta, grad, new = numbers(line_of(default_text, f"w{j + 1}{i + 1} =", header))
                assert close(old, hand["W"][layer][j, i]) and eta == 0.5
                assert close(grad, hand["gW"][layer][j, i]) and close(new, hand["nW"][layer][j, i])
            old, eta, grad, new = numbers(line_of(default_text, f"b{j + 1} =", header))
            assert close(new, hand["nb"][layer][j])
    after, before, down = numbers(line_of(default_text, "L after the update"))
    assert close(after, hand["L_after"]) and close(before, hand["L"])
    assert "went down" in default_text and close(down, hand["L"] - hand["L_after"])


def test_the_numbers_come_from_the_engine_and_agree_with_finite_differences():
    weights, _ = explain.default_network(None, None, None)
    exp = explain.explain_step(weights, [1.0, 0.0], 1.0, "tanh", "mse", 0.1)
    for layer in exp.layers:
        np.testing.assert_allclose(layer.grad_weight, layer.fd_weight, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(layer.grad_bias, layer.fd_bias, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(layer.delta, layer.grad_a * layer.dadz, rtol=1e-12)
        np.testing.assert_allclose(layer.grad_weight, np.outer(layer.delta, layer.inputs))
        np.testing.assert_allclose(layer.new_weight, layer.weight - 0.1 * layer.grad_weight)
    assert exp.loss_after < exp.loss


# ---------------------------------------------------------------- formats and options


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.inside: str | None = None  # script or style: their text is not the page's

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("script", "style"):
            self.inside = tag

    def handle_endtag(self, tag):
        if tag == self.inside:
            self.inside = None

    def handle_data(self, data):
        if self.inside is None:
            self.text.append(data)


GOLDEN = Path(__file__).parent / "golden"
#: The relative difference of a gradient and its finite difference is rounding noise
#: (about 1e-10), which differs between platforms' exp and log; everything else is exact.
REL_DIFF = re.compile(r"rel\. diff [^)]*")


@pytest.mark.parametrize(
    ("args", "golden"),
    [
        ((), "explain_default.txt"),
        (("--format", "markdown"), "explain_default.md"),
        (("--format", "html"), "explain_default.html"),
        (
            ("--layers", "2,3,2", "--loss", "cross-entropy", "--seed", "1", "--steps", "50"),
            "explain_cross_entropy_steps.txt",
        ),
    ],
)
def test_the_reports_are_the_golden_ones_byte_for_byte(args, golden):
    """The reports as written before explain became a package (tests/golden/).

    Regenerate a file only for an intended change of the report:
    ``retrograd explain ARGS > tests/golden/FILE``.
    """
    expected = (GOLDEN / golden).read_text(encoding="utf-8")
    assert REL_DIFF.sub("rel. diff ~", ok(*args)) == REL_DIFF.sub("rel. diff ~", expected)


def test_html_is_self_contained_with_the_svg_and_every_number_of_the_text(tmp_path):
    args = ["--steps", "30", "--graph"]
    text = ok(*args)
    out = tmp_path / "step.html"
    assert "wrote" in ok(*args, "--format", "html", "--out", out)
    page = out.read_text()
    parser = _Collect()
    parser.feed(page)
    parser.close()
    assert parser.tags.count("svg") >= 2  # the network and the loss curve
    assert "circle" in parser.tags and "polyline" in parser.tags
    # self-contained: the script and the style inline, nothing fetched
    outside = page.replace("http://www.w3.org", "")
    assert "http://" not in outside and "https://" not in outside and "//cdn" not in outside
    assert not re.search(r"<(script|img|link|iframe)\b[^>]*\b(src|href)=", page)
    assert parser.tags.count("script") == 2 and parser.tags.count("style") == 1
    # the numbers are in the page's text (the report), not only in its script's data
    body = "".join(parser.text)
    missing = [n for n in NUMBER.findall(text) if n not in body]
    assert not missing, missing[:10]


def test_html_page_data_is_the_explanation_numbers_the_script_shows():
    """The JSON the page's script renders from: the steps, and each weight's chain rule."""
    page = ok("--steps", "5", "--format", "html")
    blob = re.search(r'<script type="application/json" id="explain-data">(.*?)</script>', page)
    assert blob is not None
    data = json.loads(blob.group(1))
    weights, _ = explain.default_network(None, None, None)
    exp = explain.explain_step(weights, [1.0, 0.0], 1.0, "sigmoid", "mse", 0.5, steps=5)
    hidden = exp.layers[0]
    steps = data["steps"]["neuron"]
    assert [s["phase"] for s in steps] == ["forward"] * 3 + ["loss"] + ["backward"] * 3 + [
        "update"
    ] * 3 + ["after"]
    assert [s["title"] for s in data["steps"]["layer"]][:3] == [
        "Forward pass: layer 1",
        "Forward pass: layer 2",
        "Loss",
    ]
    assert dict(steps[0]["rows"])["z1"] == explain.num(hidden.z[0])
    assert steps[0]["nodes"][0] == "n-1-0" and steps[0]["edges"] == ["e-1-0-0", "e-1-0-1"]
    w = data["weights"]["e-1-1-0"]  # w21 of the hidden layer
    assert w["name"] == "w21" and w["agree"] is True
    assert w["dLda"] == explain.num(hidden.grad_a[1])
    assert w["dadz"] == explain.num(hidden.dadz[1])
    assert w["dzdw"] == explain.num(hidden.inputs[0])
    assert w["grad"] == explain.num(hidden.grad_weight[1, 0])
    assert w["fd"] == explain.num(hidden.fd_weight[1, 0])
    assert data["history"] == [explain.num(v) for v in exp.history]
    assert "</script" not in blob.group(1)


def test_markdown_has_headings_code_blocks_and_the_repeat_as_a_table():
    md = ok("--format", "markdown", "--steps", "5")
    assert md.startswith("# retrograd explain")
    assert "## 1. Forward pass" in md and "```text" in md and "| step | loss |" in md
    assert "z = 0.50*1.00 + (-0.30)*0.00 + 0.10 = 0.6000" in md


def test_steps_table_sparkline_and_tol():
    text = ok("--steps", "500", "--tol", "0.05", "--lr", "2")
    lines = text.splitlines()
    head = lines.index("6. Repeat")
    assert lines[head + 2] == "step  loss"
    assert "stopped after" in text and "below --tol" in text
    n = int(re.search(r"stopped after (\d+) steps", text).group(1))
    assert 1 < n < 500
    rows = [numbers(line) for line in lines[head + 3 :] if re.match(r"\s+\d+\s+\d", line)]
    assert rows[-1][0] < 0.05 <= rows[-2][0]
    spark = next(line for line in lines[head:] if line.startswith("loss  "))
    assert set(spark[6:]) <= set(explain.SPARK) and spark[6] == "█"


def test_layers_seed_activation_input_target():
    text = ok("--layers", "3,4,2", "--seed", "3", "--activation", "tanh", "--input", "0.5,-1,2",
              "--target", "0.25,0.75")  # fmt: skip
    assert "3 inputs -> 4 tanh -> 2 tanh" in text and "seed 3" in text
    assert "x = [0.50, -1.00, 2.00]" in text and "y_true = [0.25, 0.75]" in text
    assert "DISAGREE" not in text and text.count("agree") == 4 * 4 + 2 * 5
    assert ok("--layers", "3,4,2", "--seed", "3") != ok("--layers", "3,4,2", "--seed", "4")


def test_cross_entropy_softmax_output():
    text = ok("--layers", "2,3,2", "--seed", "1", "--loss", "cross-entropy", "--target", "1")
    assert "2 softmax" in text and "-log(y_pred_2)" in text
    assert "delta = dL/dz = y_pred - y_true" in text and "went down" in text
    p1, p2 = numbers(line_of(text, "y_pred = ["))
    assert close(p1 + p2, 1.0)
    L = numbers(line_of(text, "L = Loss"))[-1]
    assert L == pytest.approx(-np.log(p2), abs=2e-4)  # p2 is printed to 4 decimals


def test_weights_file(tmp_path):
    weights = {"layers": [{"weight": [[1.0, 2.0, 3.0]], "bias": [0.5]}]}
    path = tmp_path / "w.json"
    path.write_text(json.dumps(weights))
    text = ok("--weights", path, "--input", "1,1,1", "--activation", "identity", "--lr", "0.1")
    assert "z = 1.00*1.00 + 2.00*1.00 + 3.00*1.00 + 0.50 = 6.5000" in text
    assert (
        "L = Loss(y_true, y_pred) = mean((y_pred - y_true)^2) = ((6.5000 - 1.00)^2) / 1 = 30.2500"
        in text
    )


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory) -> Path:
    from retrograd.pipeline import train

    result = train("iris", hidden=(8,), activation="tanh", epochs=2, quiet=True)
    path = tmp_path_factory.mktemp("explain") / "model.safetensors"
    result.model.save(path)
    return path


def test_a_saved_model_and_one_row_of_its_data(iris_model):
    text = ok("--model", iris_model, "--data", "iris", "--sample", "120", "--steps", "3")
    assert "4 inputs -> 8 tanh -> 3 softmax" in text and "row 120 of iris" in text
    assert "first 6 of 8 neurons" in text and "standardized" in text
    assert "class 2 (2)" in text and "DISAGREE" not in text
    spec = rg.data.load_dataset("iris")
    from retrograd.pipeline import TrainedModel

    trained = TrainedModel.load(iris_model)
    proba = trained.predict_proba(spec.X[120:121])[0]
    assert numbers(line_of(text, "y_pred = ["))[0] == pytest.approx(proba[0], abs=1e-4)


def test_a_saved_regression_model_and_out_file(tmp_path):
    from retrograd.pipeline import train

    result = train("diabetes", hidden=(4,), epochs=1, quiet=True)
    model = tmp_path / "model.safetensors"
    result.model.save(model)
    out = tmp_path / "report" / "step.txt"
    assert f"wrote {out}" in ok("--model", model, "--sample", "3", "--out", out)
    text = out.read_text()
    assert "10 inputs -> 4 relu -> 1 identity" in text and "target scaler" in text
    assert "(age, sex, bmi, bp, s1, s2, ...)" in text and "6 terms" in text
    assert "identity'(" in text and "DISAGREE" not in text and "went down" in text


def test_user_errors_are_messages_without_traceback(tmp_path, iris_model):
    assert "the input (the network has 2 inputs) has shape (3,)" in user_error("--input", "1,2,3")
    assert "comma-separated numbers" in user_error("--input", "a,b")
    assert "the target" in user_error("--target", "1,2")
    assert "2 or more outputs" in user_error("--loss", "cross-entropy")
    assert "class index" in user_error(
        "--layers", "2,2,3", "--loss", "cross-entropy", "--target", "5"
    )
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert "not valid JSON" in user_error("--weights", bad)
    bad.write_text(json.dumps({"layers": [{"weight": [[1, 2]], "bias": [0]},
                                          {"weight": [[1, 2, 3]], "bias": [0]}]}))  # fmt: skip
    assert "layer 2 weight has 3 columns, but layer 1 has 1 neurons" in user_error("--weights", bad)
    bad.write_text(json.dumps({"weights": []}))
    assert '"layers"' in user_error("--weights", bad)
    assert "no such weights file" in user_error("--weights", tmp_path / "missing.json")
    assert "are for layers 2,1" in user_error(
        "--weights", _write(tmp_path, {"layers": [{"weight": [[1, 2]], "bias": [0]}]}),
        "--layers", "2,2,1",
    )  # fmt: skip
    assert "drop --layers" in user_error("--model", iris_model, "--layers", "2,2,1")
    assert "rows 0..149" in user_error("--model", iris_model, "--sample", "150")
    assert "no model file" in user_error("--model", tmp_path / "nothing")
    assert "--data goes with --model" in user_error("--data", "iris")
    assert "--layers needs" in user_error("--layers", "3")
    assert "not both" in user_error("--seed", "1", "--weights", bad)
    from retrograd.pipeline import train

    bn = tmp_path / "bn.safetensors"
    train("iris", hidden=(4,), epochs=1, batch_norm=True, quiet=True).model.save(bn)
    assert "this model has BatchNorm1d" in user_error("--model", bn)
    assert "Invalid value for '--lr'" in user_error("--lr", "0")


def _write(tmp_path: Path, obj) -> Path:
    path = tmp_path / "w2.json"
    path.write_text(json.dumps(obj))
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "retrograd.cli", "explain", *map(str, args)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_through_a_subprocess_output_and_a_user_error(default_text):
    proc = run_cli()
    assert proc.returncode == 0 and proc.stdout == default_text
    proc = run_cli("--input", "1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert "Error: the input" in proc.stderr


# ---------------------------------------------------------------- the graph, drawn


def small_graph():
    w = rg.tensor([[0.5, -0.3]], requires_grad=True)
    b = rg.tensor([0.1], requires_grad=True)
    x = rg.tensor([[1.0, 0.0]])
    loss = ((x @ w.T + b).sigmoid() ** 2).sum()
    return loss, w, b


def test_draw_graph_dot_has_one_node_per_op_and_named_leaves():
    loss, w, b = small_graph()
    nodes, edges = viz.graph_nodes(loss)
    ops = [n for n in nodes if isinstance(n, rg.autograd.Op)]
    assert [n.name for n in ops][:2] == ["SumBackward0", "PowScalarBackward0"]
    assert len(nodes) == len(ops) + 2  # w and b; x needs no gradient and is not drawn
    loss.backward()
    dot = viz.draw_graph(loss, names={"w": w, "b": b})
    assert dot.startswith("digraph retrograd {") and dot.rstrip().endswith("}")
    assert dot.count("shape=box") == len(ops) and dot.count("shape=ellipse") == 2
    assert 'label="w\\n(1, 2)\\ndata [0.5, -0.3]\\ngrad [' in dot and "b\\n(1)" in dot
    assert "SigmoidBackward0\\n(1, 1)" in dot and dot.count("->") == len(edges) + 1


def test_draw_graph_names_from_a_module_and_a_deep_graph():
    model = rg.nn.Sequential(rg.nn.Linear(2, 2), rg.nn.Sigmoid())
    out = model(rg.tensor([[1.0, 2.0]])).sum()
    dot = viz.draw_graph(out, names=model)
    assert "0.weight" in dot and "0.bias" in dot
    x = rg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):  # iterative walk: no RecursionError
        y = y * 1.0
    assert viz.draw_graph(y).count("MulBackward0") == 5000


def test_draw_graph_svg_or_the_install_hint(tmp_path):
    loss, _, _ = small_graph()
    try:
        import graphviz  # noqa: F401

        have = shutil.which("dot") is not None
    except ImportError:
        have = False
    if not have:
        with pytest.raises(RuntimeError, match="apt-get install graphviz"):
            viz.draw_graph(loss, format="svg")
        text = ok("--graph", "--format", "html")
        assert "pip install graphviz" in text and "digraph retrograd" in text
        pytest.skip("graphviz (Python package and dot) not installed: SVG not drawn")
    svg = viz.draw_graph(loss, format="svg", path=tmp_path / "g.svg")
    assert "<svg" in svg and (tmp_path / "g.svg").read_text() == svg
    png = viz.draw_graph(loss, format="png")
    assert png.startswith(b"\x89PNG")
    assert "<svg" in ok("--graph", "--format", "html").split("Computational graph")[1]


def test_draw_graph_rejects_bad_arguments():
    loss, _, _ = small_graph()
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        viz.draw_graph(loss, format="pdf")
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.draw_graph(np.zeros(2))
