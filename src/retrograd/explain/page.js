// The click-through of retrograd explain's HTML page. Everything shown comes from the
// JSON blob #explain-data, written by retrograd.explain.html.page_data from the same
// Explanation as the text report; this script computes no number itself.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("explain-data").textContent);
  const $ = (id) => document.getElementById(id);
  let unit = "neuron";
  let at = 0;

  function steps() {
    return data.steps[unit];
  }

  function show() {
    const step = steps()[at];
    $("step-title").textContent = step.title;
    $("step-lines").textContent = step.lines.join("\n");
    $("counter").textContent = `step ${at + 1} of ${steps().length}`;
    $("phase").value = step.phase;
    $("prev").disabled = at === 0;
    $("next").disabled = at === steps().length - 1;
    const body = $("step-table").tBodies[0];
    body.replaceChildren();
    for (const [name, value] of step.rows) {
      const tr = body.insertRow();
      tr.insertCell().textContent = name;
      tr.insertCell().textContent = value;
    }
    // each neuron shows the numbers of the phase: z and a, its delta, or its new bias
    for (const [id, phases] of Object.entries(data.labels)) {
      const texts = $(id).querySelectorAll("text");
      phases[step.phase].forEach((line, k) => (texts[k].textContent = line));
    }
    for (const el of document.querySelectorAll("#network .on")) el.classList.remove("on");
    for (const id of step.nodes.concat(step.edges)) $(id).classList.add("on");
  }

  function go(i) {
    at = Math.max(0, Math.min(steps().length - 1, i));
    show();
  }

  // The chain rule of one weight: dL/dw = dL/da * da/dz * dz/dw, and its check.
  function chain(w) {
    const span = (role, text) => `<span data-role="${role}">${text}</span>`;
    const head = `${w.name} of layer ${w.layer}: w = ${w.w}, after the update ${w.new}\n`;
    let rule;
    if (w.dadz === null) {
      // softmax with cross-entropy: dL/dz collapses to y_pred - y_true
      rule =
        "dL/dw = dL/dz * dz/dw  (softmax + cross-entropy: dL/dz = y_pred - y_true)\n" +
        `      = ${span("delta", w.delta)} * ${span("dzdw", w.dzdw)}`;
    } else {
      rule =
        "dL/dw = dL/da * da/dz * dz/dw\n" +
        `      = ${span("dLda", w.dLda)} * ${span("dadz", w.dadz)} * ${span("dzdw", w.dzdw)}`;
    }
    const verdict = w.agree ? "agree" : "DISAGREE";
    return (
      head + rule + ` = ${span("grad", w.grad)}\n` +
      `finite difference ${span("fd", w.fd)}: ${verdict} (rel. diff ${w.rel})`
    );
  }

  function tip(event) {
    const edge = event.target;
    const box = $("tooltip");
    box.innerHTML = chain(data.weights[edge.id]);
    const r = edge.getBoundingClientRect();
    const p = box.parentElement.getBoundingClientRect();
    box.style.left = `${r.left - p.left + r.width / 2}px`;
    box.style.top = `${r.top - p.top + r.height / 2 + 12}px`;
    box.hidden = false;
  }

  function untip() {
    $("tooltip").hidden = true;
  }

  for (const edge of document.querySelectorAll("#network .edge")) {
    edge.addEventListener("mouseenter", tip);
    edge.addEventListener("focus", tip);
    edge.addEventListener("mouseleave", untip);
    edge.addEventListener("blur", untip);
  }
  $("prev").addEventListener("click", () => go(at - 1));
  $("next").addEventListener("click", () => go(at + 1));
  $("phase").addEventListener("change", (e) =>
    go(steps().findIndex((s) => s.phase === e.target.value)));
  $("unit").addEventListener("change", (e) => {
    const phase = steps()[at].phase;
    unit = e.target.value;
    go(steps().findIndex((s) => s.phase === phase));
  });
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "SELECT") return;
    if (e.key === "ArrowRight") go(at + 1);
    if (e.key === "ArrowLeft") go(at - 1);
  });
  show();
})();
