//! The tape as one self-contained web page: the graph laid out top-down, the
//! Wengert table beside it, and controls that step through the forward pass
//! (values appear) and the reverse sweep (each adjoint update lands on the
//! graph with its local partial and the running sum). No network requests:
//! the data is inline JSON, the drawing inline SVG made by inline
//! JavaScript. `Tape::to_html` and `TensorTape::to_html` fill a [`View`].

use std::fmt::Write;

/// One node of the page.
pub(crate) struct ViewNode {
    /// `v3 w` (index and name).
    pub label: String,
    /// What it computes (`x * y`, `matmul(v0, v1)`).
    pub expr: String,
    /// Its value, formatted (a number, or a tensor's shape and summary).
    pub value: String,
    /// Its adjoint after the whole sweep, from the tape's own gradient
    /// (empty where none flows), formatted as the steps format theirs.
    pub adjoint: String,
    /// Its parents and the local partial (or VJP name) on each edge.
    pub parents: Vec<(usize, String)>,
}

/// One step of the reverse sweep.
pub(crate) struct BackStep {
    /// The node passing its adjoint on.
    pub node: usize,
    /// The parent receiving it (`None`: the step finishes `node` itself, as
    /// the tensor view does once per node).
    pub parent: Option<usize>,
    /// The sentence the status line shows.
    pub text: String,
    /// The receiving node's adjoint after the step (the running sum), or
    /// `node`'s own when `parent` is `None`.
    pub adjoint_after: String,
}

/// What a page shows.
pub(crate) struct View {
    pub title: String,
    pub nodes: Vec<ViewNode>,
    /// The node the sweep starts from (its adjoint is seeded with 1).
    pub output: usize,
    /// The seed's text (`1`, or `ones [2, 3]`).
    pub seed: String,
    pub backward: Vec<BackStep>,
}

/// A JSON string literal.
fn js(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// HTML text.
fn text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The row of each node: one below its deepest parent (computed in
/// recording order: parents always come first, so one pass suffices and
/// nothing recurses); an input sits just above its first consumer rather
/// than at the top, so its edges stay short.
fn depths(nodes: &[ViewNode]) -> Vec<usize> {
    let mut depth = vec![0usize; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        depth[i] = n
            .parents
            .iter()
            .map(|&(p, _)| depth[p] + 1)
            .max()
            .unwrap_or(0);
    }
    let mut first_use = vec![usize::MAX; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for &(p, _) in &n.parents {
            first_use[p] = first_use[p].min(depth[i]);
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        if n.parents.is_empty() && first_use[i] != usize::MAX {
            depth[i] = first_use[i] - 1;
        }
    }
    depth
}

impl View {
    /// The page.
    pub(crate) fn to_html(&self) -> String {
        let depth = depths(&self.nodes);
        let mut column = vec![0usize; self.nodes.len()];
        let mut used = Vec::<usize>::new();
        for (i, &d) in depth.iter().enumerate() {
            if used.len() <= d {
                used.resize(d + 1, 0);
            }
            column[i] = used[d];
            used[d] += 1;
        }
        let mut data = String::new();
        data.push_str("{\"title\":");
        data.push_str(&js(&self.title));
        let _ = write!(
            data,
            ",\"output\":{},\"seed\":{},\"nodes\":[",
            self.output,
            js(&self.seed)
        );
        for (i, n) in self.nodes.iter().enumerate() {
            if i > 0 {
                data.push(',');
            }
            let _ = write!(
                data,
                "{{\"label\":{},\"expr\":{},\"value\":{},\"adjoint\":{},\"row\":{},\"col\":{},\"parents\":[",
                js(&n.label),
                js(&n.expr),
                js(&n.value),
                js(&n.adjoint),
                depth[i],
                column[i]
            );
            for (k, (p, partial)) in n.parents.iter().enumerate() {
                if k > 0 {
                    data.push(',');
                }
                let _ = write!(data, "[{p},{}]", js(partial));
            }
            data.push_str("]}");
        }
        data.push_str("],\"backward\":[");
        for (k, s) in self.backward.iter().enumerate() {
            if k > 0 {
                data.push(',');
            }
            let parent = s.parent.map_or("null".to_string(), |p| p.to_string());
            let _ = write!(
                data,
                "{{\"node\":{},\"parent\":{parent},\"text\":{},\"after\":{}}}",
                s.node,
                js(&s.text),
                js(&s.adjoint_after)
            );
        }
        data.push_str("]}");
        PAGE.replace("{{TITLE}}", &text(&self.title))
            .replace("{{DATA}}", &data)
    }
}

/// The page around the data: styles, layout and the stepping logic.
const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{TITLE}}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; }
  header { padding: 8px 12px; background: #f4f4f4; border-bottom: 1px solid #ccc; position: sticky; top: 0; z-index: 2; }
  header h1 { font-size: 16px; margin: 0 0 6px 0; }
  button { font: inherit; margin-right: 4px; }
  #status { font-family: ui-monospace, monospace; margin-top: 6px; min-height: 1.4em; white-space: pre-wrap; }
  main { display: flex; gap: 12px; padding: 12px; align-items: flex-start; }
  #graph { flex: 1 1 55%; overflow: auto; border: 1px solid #ddd; max-height: 85vh; }
  #table { flex: 1 1 45%; overflow: auto; max-height: 85vh; }
  table { border-collapse: collapse; font-family: ui-monospace, monospace; font-size: 12px; }
  th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
  tr.cur td { background: #fff3b0; }
  tr.dst td { background: #d6ecff; }
  .node rect { fill: #fff; stroke: #555; }
  .node.done rect { fill: #f3fff0; }
  .node.cur rect { fill: #fff3b0; stroke: #c90; stroke-width: 2; }
  .node.dst rect { fill: #d6ecff; stroke: #06c; stroke-width: 2; }
  .node text { font: 11px ui-monospace, monospace; }
  .edge line { stroke: #999; }
  .edge text { font: 10px ui-monospace, monospace; fill: #777; }
  .edge.hot line { stroke: #d00; stroke-width: 2.5; }
  .edge.hot text { fill: #d00; font-weight: bold; }
  .edge.pending text { visibility: hidden; }
  kbd { border: 1px solid #aaa; border-radius: 3px; padding: 0 3px; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>{{TITLE}}</h1>
  <button id="first" title="Home">&laquo; start</button>
  <button id="prev" title="Left arrow">&#x25C0; back</button>
  <button id="next" title="Right arrow or space">next &#x25B6;</button>
  <button id="last" title="End">end &raquo;</button>
  <span id="counter"></span>
  &nbsp; keys: <kbd>&rarr;</kbd>/<kbd>space</kbd> next, <kbd>&larr;</kbd> back, <kbd>Home</kbd>, <kbd>End</kbd>
  <div id="status"></div>
</header>
<main>
  <div id="graph"></div>
  <div id="table"></div>
</main>
<script id="tape-data" type="application/json">{{DATA}}</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("tape-data").textContent);
const N = D.nodes.length;
const SVG = "http://www.w3.org/2000/svg";
const W = 170, H = 58, GX = 30, GY = 50;
// Steps: each node's forward value in recording order, the seed, then the
// sweep's adjoint updates in the order the engine performs them.
const steps = [];
for (let i = 0; i < N; i++) steps.push({kind: "forward", node: i});
steps.push({kind: "seed", node: D.output});
for (const b of D.backward) steps.push(Object.assign({kind: "backward"}, b));

function el(tag, attrs, parent, ns) {
  const e = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
const pos = D.nodes.map(n => [GX + n.col * (W + GX), GY / 2 + n.row * (H + GY)]);
const width = Math.max(...pos.map(p => p[0])) + W + GX;
const height = Math.max(...pos.map(p => p[1])) + H + GY;
const svg = el("svg", {width: width, height: height, viewBox: "0 0 " + width + " " + height}, document.getElementById("graph"), true);
const edges = {}, boxes = [], valueText = [], adjText = [];
D.nodes.forEach((n, i) => {
  n.parents.forEach(([p, partial], k) => {
    const g = el("g", {"class": "edge"}, svg, true);
    const x1 = pos[p][0] + W / 2, y1 = pos[p][1] + H, x2 = pos[i][0] + W / 2, y2 = pos[i][1];
    el("line", {x1: x1, y1: y1, x2: x2, y2: y2}, g, true);
    // The partial sits near the child, which computed it.
    const t = el("text", {x: x1 + 0.7 * (x2 - x1) + 4, y: y1 + 0.7 * (y2 - y1), "class": "partial"}, g, true);
    t.textContent = partial;
    g.dataset.child = i;
    (edges[i + ":" + p] = edges[i + ":" + p] || []).push(g);
  });
});
D.nodes.forEach((n, i) => {
  const g = el("g", {"class": "node", id: "n" + i, transform: "translate(" + pos[i][0] + "," + pos[i][1] + ")"}, svg, true);
  el("rect", {width: W, height: H, rx: 5}, g, true);
  const l1 = el("text", {x: 6, y: 15}, g, true); l1.textContent = n.label + ": " + n.expr;
  const l2 = el("text", {x: 6, y: 32}, g, true); valueText.push(l2);
  const l3 = el("text", {x: 6, y: 49}, g, true); adjText.push(l3);
  el("title", {}, g, true).textContent = n.label + " = " + n.expr;
  boxes.push(g);
});
const table = el("table", {}, document.getElementById("table"));
const head = el("tr", {}, table);
for (const h of ["node", "expression", "value", "local partials", "adjoint"]) el("th", {}, head).textContent = h;
const rows = [], valueCell = [], adjCell = [], partialCell = [];
D.nodes.forEach((n, i) => {
  const tr = el("tr", {id: "r" + i}, table);
  el("td", {}, tr).textContent = n.label;
  el("td", {}, tr).textContent = n.expr;
  valueCell.push(el("td", {"class": "value", "data-node": i}, tr));
  partialCell.push(el("td", {"class": "partials"}, tr));
  adjCell.push(el("td", {"class": "adjoint", "data-node": i}, tr));
  rows.push(tr);
});

let current = -1;
const allEdges = Array.from(document.querySelectorAll(".edge"));
// Set an attribute or text only when it changes: a step touches a few
// nodes, and a 1000-node page stays quick to step through.
function setText(e, t) { if (e.textContent !== t) e.textContent = t; }
function setClass(e, c) { if (e.getAttribute("class") !== c) e.setAttribute("class", c); }
function go(k, quiet) {
  k = Math.max(-1, Math.min(steps.length - 1, k));
  current = k;
  const adj = new Array(N).fill("");
  for (let j = N; j <= k; j++) {
    const s = steps[j];
    if (s.kind === "seed") adj[s.node] = D.seed;
    else if (s.parent === null) adj[s.node] = s.after;
    else adj[s.parent] = s.after;
  }
  const s = steps[k];
  const cls = new Array(N).fill("");
  const hot = new Set();
  if (s) {
    cls[s.node] = "cur";
    if (s.kind === "backward") {
      const targets = s.parent !== null ? [s.parent] : D.nodes[s.node].parents.map(([p]) => p);
      if (s.parent !== null) cls[s.parent] = "dst";
      for (const p of targets) for (const e of edges[s.node + ":" + p] || []) hot.add(e);
    }
  }
  for (let i = 0; i < N; i++) {
    const known = k >= i;
    setText(valueText[i], known ? "value " + D.nodes[i].value : "");
    setText(valueCell[i], known ? D.nodes[i].value : "");
    // Local partials are computed with the value, in the forward pass.
    setText(partialCell[i], known ? D.nodes[i].parents.map(([p, d]) => "d/dv" + p + " = " + d).join(", ") : "");
    setText(adjText[i], adj[i] === "" ? "" : "adjoint " + adj[i]);
    setText(adjCell[i], adj[i]);
    setClass(boxes[i], "node" + (cls[i] ? " " + cls[i] : known ? " done" : ""));
    if (rows[i].className !== cls[i]) rows[i].className = cls[i];
  }
  for (const e of allEdges) setClass(e, "edge" + (hot.has(e) ? " hot" : k >= Number(e.dataset.child) ? "" : " pending"));
  const status = document.getElementById("status");
  if (!s) {
    status.textContent = "Press next: the forward pass computes each node's value in recording order; then the reverse sweep passes adjoints back.";
  } else if (s.kind === "forward") {
    const n = D.nodes[s.node];
    status.textContent = "forward: " + n.label + " = " + n.expr + " = " + n.value;
  } else if (s.kind === "seed") {
    status.textContent = "reverse sweep starts: adjoint of the output " + D.nodes[s.node].label + " = " + D.seed;
  } else {
    status.textContent = "backward: " + s.text;
  }
  document.getElementById("counter").textContent = "step " + (k + 1) + " of " + steps.length;
  if (s && !quiet) boxes[s.node].scrollIntoView({block: "nearest", inline: "nearest"});
}
document.getElementById("first").onclick = () => go(-1);
document.getElementById("prev").onclick = () => go(current - 1);
document.getElementById("next").onclick = () => go(current + 1);
document.getElementById("last").onclick = () => go(steps.length - 1);
document.addEventListener("keydown", e => {
  if (e.key === "ArrowRight" || e.key === " ") { go(current + 1); e.preventDefault(); }
  else if (e.key === "ArrowLeft") { go(current - 1); e.preventDefault(); }
  else if (e.key === "Home") go(-1);
  else if (e.key === "End") go(steps.length - 1);
});
window.tapeView = {steps: steps, go: go, data: D};
// `#step=K` opens the page at step K (for links and screenshots).
const at = /^#step=(\d+)$/.exec(location.hash);
go(at ? Number(at[1]) - 1 : -1);

// `#selftest`: step through every step, checking at each that the receiving
// node shows the running sum, and at the end that every node shows the
// adjoint the tape's own gradient computed. The verdict goes into
// <body data-selftest>, for a headless browser to read.
if (location.hash === "#selftest") {
  let verdict = "pass " + steps.length + " steps";
  try {
    for (let k = 0; k < steps.length; k++) {
      go(k, true);
      const s = steps[k];
      if (s.kind === "backward") {
        const target = s.parent === null ? s.node : s.parent;
        if (adjCell[target].textContent !== s.after) throw "step " + k + ": v" + target + " shows " + adjCell[target].textContent + ", expected " + s.after;
      }
      if (s.kind === "forward" && valueCell[s.node].textContent !== D.nodes[s.node].value) throw "step " + k + ": value of v" + s.node;
    }
    D.nodes.forEach((n, i) => {
      if (n.adjoint !== "" && adjCell[i].textContent !== n.adjoint) throw "end: v" + i + " shows " + adjCell[i].textContent + ", the tape's gradient is " + n.adjoint;
    });
  } catch (err) {
    verdict = "fail: " + err;
  }
  document.body.setAttribute("data-selftest", verdict);
}
</script>
</body>
</html>
"##;
