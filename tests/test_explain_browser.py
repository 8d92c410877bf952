"""retrograd explain's HTML page in a real browser: headless Chromium driven by Playwright.

Chromium is Debian's ``chromium`` package (``/usr/bin/chromium``), which the README's test
command installs where missing; Playwright's own browser download is not used. Without
Chromium (or Playwright) these tests FAIL, so that CI cannot pass without the browser;
set ``RETROGRAD_SKIP_BROWSER=1`` to skip them on a machine without one.

The page is written by the CLI and every number read back from it is compared with the
:class:`~retrograd.explain.Explanation` computed in Python for the same arguments.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from retrograd import cli
from retrograd.explain import DEFAULT_INPUT, DEFAULT_TARGET, default_network, explain_step, num

CHROMIUM = os.environ.get("RETROGRAD_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "explain.png"
STEPS = 40

if os.environ.get("RETROGRAD_SKIP_BROWSER") == "1":
    pytest.skip("RETROGRAD_SKIP_BROWSER=1: browser tests skipped", allow_module_level=True)


def write_page(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / "explain.html"
    result = CliRunner().invoke(
        cli.main, ["explain", "--format", "html", *args, "--out", str(out)], prog_name="retrograd"
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return out


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium; a missing browser is a failure, not a skip."""
    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), (
        f"Chromium not found at {CHROMIUM}: install it (apt-get install -y chromium), "
        "or set RETROGRAD_SKIP_BROWSER=1 to skip the browser tests"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def watch(pg) -> dict[str, list[str]]:
    """The page's console errors, uncaught exceptions, failed requests, and every URL asked for."""
    log: dict[str, list[str]] = {"errors": [], "requests": []}
    pg.on("console", lambda m: m.type == "error" and log["errors"].append(m.text))
    pg.on("pageerror", lambda e: log["errors"].append(str(e)))
    pg.on("requestfailed", lambda r: log["errors"].append(f"failed request {r.url}"))
    pg.on("request", lambda r: log["requests"].append(r.url))
    return log


@pytest.fixture
def log() -> dict[str, list[str]]:
    return {}


@pytest.fixture
def page(browser, tmp_path, log):
    """The default explanation's page (with ``--steps``), opened and watched (``log``)."""
    path = write_page(tmp_path, "--steps", str(STEPS))
    pg = browser.new_page(viewport={"width": 1400, "height": 900})
    log.update(watch(pg))
    pg.goto(path.as_uri())
    pg.wait_for_load_state("load")
    yield pg
    pg.close()


def python_explanation(steps: int = STEPS):
    """The step the page shows, computed in Python (the CLI's defaults)."""
    weights, _ = default_network(None, None, None)
    return explain_step(weights, DEFAULT_INPUT, DEFAULT_TARGET, "sigmoid", "mse", 0.5, steps=steps)


def table(pg) -> dict[str, str]:
    rows = pg.locator("#step-table tbody tr").all()
    return {r.locator("td").nth(0).inner_text(): r.locator("td").nth(1).inner_text() for r in rows}


def test_the_page_loads_offline_without_console_errors(page, log):
    assert log["errors"] == []
    assert log["requests"] == [page.url]  # the file itself, nothing else
    assert page.locator("#step-title").inner_text() == "Forward pass: layer 1, neuron 1"


def test_next_and_previous_change_the_numbers_shown(page, log):
    exp = python_explanation()
    h1, out = exp.layers
    shown = table(page)
    assert shown["z1"] == num(h1.z[0]) and shown["a1"] == num(h1.a[0])
    assert page.locator("#n-1-0.on").count() == 1
    page.click("#next")
    assert page.locator("#step-title").inner_text() == "Forward pass: layer 1, neuron 2"
    shown = table(page)
    assert shown["z2"] == num(h1.z[1]) and shown["a2"] == num(h1.a[1])
    assert page.locator("#n-1-1.on").count() == 1 and page.locator("#n-1-0.on").count() == 0
    page.click("#prev")
    assert table(page)["z1"] == num(h1.z[0])
    assert page.locator("#prev").is_disabled()

    drawn = lambda node: "".join(page.locator(node).text_content().split())  # noqa: E731
    assert drawn("#n-2-0") == f"z={num(out.z[0])}a={num(out.a[0])}"
    page.select_option("#phase", "backward")  # the output neuron first
    assert page.locator("#step-title").inner_text() == "Backward pass: layer 2, neuron 1"
    assert drawn("#n-2-0") == f"δ=dL/dz{num(out.delta[0])}"  # the neurons show their delta
    assert drawn("#n-1-1") == f"δ=dL/dz{num(h1.delta[1])}"
    shown = table(page)
    assert shown["delta1"] == num(out.delta[0])
    assert shown["dL/dw11"] == num(out.grad_weight[0, 0])
    page.click("#next")
    assert table(page)["delta1"] == num(h1.delta[0])

    page.select_option("#unit", "layer")  # the whole hidden layer at once, same phase
    assert page.locator("#step-title").inner_text() == "Backward pass: layer 2"
    page.click("#next")
    text = page.locator("#step-table").inner_text()
    assert num(h1.delta[0]) in text and num(h1.delta[1]) in text
    page.select_option("#phase", "update")
    assert f"{num(h1.new_weight[0, 0])}" in page.locator("#step-table").inner_text()
    page.select_option("#phase", "after")
    assert table(page)["L after"] == num(exp.loss_after)
    assert page.locator("#next").is_disabled()
    assert log["errors"] == []


def test_hovering_or_focusing_a_weight_shows_its_chain_rule_and_check(page):
    exp = python_explanation()
    h1, out = exp.layers
    tip = page.locator("#tooltip")
    assert tip.is_hidden()
    page.hover("#e-2-0-1")  # w12 of the output layer: from hidden neuron 2
    assert tip.is_visible()
    role = lambda r: tip.locator(f'[data-role="{r}"]').inner_text()  # noqa: E731
    assert role("dLda") == num(out.grad_a[0])
    assert role("dadz") == num(out.dadz[0])
    assert role("dzdw") == num(out.inputs[1])
    assert role("grad") == num(out.grad_weight[0, 1])
    assert role("fd") == num(out.fd_weight[0, 1])
    assert "agree" in tip.inner_text()
    page.mouse.move(1, 1)
    assert tip.is_hidden()
    page.focus("#e-1-1-0")  # keyboard: w21 of the hidden layer
    assert tip.is_visible()
    assert role("grad") == num(h1.grad_weight[1, 0]) and role("fd") == num(h1.fd_weight[1, 0])
    assert role("dLda") == num(h1.grad_a[1]) and role("dadz") == num(h1.dadz[1])


def test_the_loss_curve_has_a_point_per_step_and_a_screenshot_is_written(page):
    exp = python_explanation()
    assert len(exp.history) == STEPS
    points = page.locator("#loss-curve circle.point")
    assert points.count() == STEPS
    assert points.nth(STEPS - 1).locator("title").text_content().endswith(num(exp.history[-1]))
    page.select_option("#phase", "backward")
    page.hover("#e-2-0-1")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), clip={"x": 0, "y": 0, "width": 1400, "height": 900})
    assert SCREENSHOT.read_bytes().startswith(b"\x89PNG")


def test_wide_layers_are_summarised_and_cross_entropy_steps_through(browser, tmp_path):
    path = write_page(tmp_path, "--layers", "9,12,3", "--loss", "cross-entropy", "--seed", "1")
    pg = browser.new_page()
    log = watch(pg)
    pg.goto(path.as_uri())
    assert pg.locator("#network circle").count() == 6 + 6 + 3  # the first 6 of wide layers
    assert "... 3 more" in pg.locator("#network").text_content()
    assert "... 6 more" in pg.locator("#network").text_content()
    n = int(pg.locator("#counter").inner_text().split()[-1])
    for _ in range(n - 1):
        pg.click("#next")
    assert pg.locator("#step-title").inner_text() == "Loss after the update"
    pg.hover("#e-2-0-0")  # softmax output: dL/dz = y_pred - y_true, no f'(z) factor
    assert pg.locator('#tooltip [data-role="delta"]').is_visible()
    assert log["errors"] == [] and log["requests"] == [pg.url]
    pg.close()


def test_the_readme_test_command_installs_chromium_where_missing():
    root = SCREENSHOT.parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    install = "(command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium))"
    test_command = next(line for line in readme.splitlines() if "pytest -m" in line)
    assert install in test_command.split("pytest")[0]
    assert test_command in (root / ".ci" / "run").read_text(encoding="utf-8").splitlines()
