// descentlab explore: draws the precomputed grids embedded in this page. No update rule is written here:
// every number comes from the library's registry rules (run_batch), the page only looks values up.
//
// One entry point (this file is an ES module): mount(root, data, strings, host) builds the whole explorer inside the
// element `root` (controls, views, read-out) from `data` (the JSON of descentlab.explore.encode.to_json) and `strings`
// (the texts of descentlab.explore.strings.page_strings), and returns its API (ready, done, state(), redraw(),
// labels(), ...). `root` may be in a document or in a shadow root (the Jupyter widget, widget.js).
// `host` says where the view's state (the hash, "#obj=...&s0=...") is kept: {readHash(), writeHash(hash),
// onHash(listen)}. pageHost() (the default) is the page's URL hash; the widget's host is its model's `hash` trait;
// a host without readHash (null, {}) keeps no state (a page inside another page's frame).
// The standalone page calls it on <main id="explorer"> at the end of this file.
export function mount(root, DATA, S, host) {
  "use strict";
  if (host === undefined) host = pageHost();
  const keepsHash = Boolean(host && host.readHash);
  const say = (key, values) => S[key].replace(/\{(\w+)\}/g, (whole, name) => String(values[name]));
  const titleOf = (alg) => S.titles[alg];
  const labelOf = (axis) => S.axis_labels[axis.label] || axis.label;
  const T = DATA.steps;
  const LEN = T + 1;
  const COLORS = ["#d95f02", "#1b9e77", "#7570b3"];
  const SLOTS = 3;
  const FIRST_CHOICE = ["momentum", "adam", "sgd"]; // the first slots: optimizers with a state and a 2D map first
  const FONT = 'system-ui, "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif';
  const api = { ready: false, timings: [], inputTimings: [], draws: 0 };
  const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

  // ---------- the frame: every element is built here, inside root ----------
  root.classList.add("dlx-box");
  root.innerHTML = `
<p class="dlx-status" role="status">${escape(S.decoding)}</p>
<div class="dlx loading">
  <section class="dlx-controls" aria-label="${escape(S.controls)}">
    <fieldset>
      <legend>${escape(S.problem)}</legend>
      <div class="hp"><label for="objective">${escape(S.objective)}</label><select id="objective"></select></div>
      <div class="hp"><label for="start">${escape(S.start)}</label><select id="start"></select></div>
      <div class="hp"><label for="steps">${escape(S.steps)}</label><input type="range" id="steps" min="1" max="200" step="1"><output id="steps-value"></output></div>
      <div class="hp"><label for="notes-run">${escape(S.notes_runs_label)}</label><select id="notes-run"></select></div>
    </fieldset>
    <div id="slots"></div>
  </section>
  <section class="dlx-views">
    <figure><canvas id="view-paths" tabindex="0" role="img"></canvas><figcaption id="paths-caption"></figcaption></figure>
    <figure><canvas id="view-map" tabindex="0" role="img"></canvas><figcaption id="map-caption"></figcaption></figure>
    <figure><canvas id="view-loss" tabindex="0" role="img"></canvas><figcaption id="loss-caption"></figcaption></figure>
    <figure><canvas id="view-elr" tabindex="0" role="img"></canvas><figcaption id="elr-caption"></figcaption></figure>
    <figure><canvas id="view-state" tabindex="0" role="img"></canvas><figcaption id="state-caption"></figcaption></figure>
    <figure class="table"><table id="theory"></table><figcaption>${escape(S.caption_theory)}</figcaption></figure>
  </section>
  <section class="dlx-numbers" aria-label="${escape(S.readout)}"><div class="dlx-scroll"><table id="readout"></table></div></section>
  <p class="dlx-hidden" aria-live="polite" id="summary"></p>
</div>`;
  const $ = (id) => root.querySelector(`#${id}`);

  // ---------- decoding (inverse of descentlab.explore.encode) ----------
  function bytesOf(b64) {
    const s = atob(b64);
    const a = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
    return a;
  }
  async function inflate(b64) {
    const stream = new Blob([bytesOf(b64)]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  function decodeValues(raw) {
    const n = raw.length / 2;
    const bits = new Uint32Array(n);
    for (let row = 0; row < n; row += LEN) {
      let acc = 0;
      for (let j = 0; j < LEN; j++) {
        const i = row + j;
        acc = (acc + ((raw[i] << 8) | raw[n + i])) & 0xffff;
        bits[i] = acc << 16;
      }
    }
    return new Float32Array(bits.buffer);
  }
  const blocks = {};
  const grids = {};
  async function decodeAll() {
    const jobs = Object.entries(DATA.blocks).map(async ([key, entry]) => {
      const [values, precise] = await Promise.all([inflate(entry.data), inflate(entry.precise)]);
      blocks[key] = {
        channels: entry.channels,
        values: decodeValues(values),
        precise: new Float64Array(precise.buffer, 0, precise.length / 8),
        diverged: entry.diverged,
      };
    });
    for (const [key, land] of Object.entries(DATA.landscapes)) {
      jobs.push(inflate(land.grid).then((raw) => { grids[key] = new Float32Array(raw.buffer, 0, raw.length / 4); }));
    }
    await Promise.all(jobs);
  }

  // ---------- state ----------
  const algorithms = Object.keys(DATA.algorithms);
  const problemsByKey = Object.fromEntries(DATA.problems.map((p) => [p.key, p]));
  const axesOf = (alg) => DATA.algorithms[alg].axes;
  const landscapeOf = (problem) => problemsByKey[problem].landscape;
  // the first position of each control; lr: the one computed for the objective (data.initial_lr)
  function initialIndex(alg, problem) {
    const firstLr = (DATA.landscapes[landscapeOf(problem)].initial_lr || {})[alg];
    return axesOf(alg).map((axis) => (axis.name === "lr" && firstLr !== undefined ? firstLr : axis.initial));
  }
  const state = { problem: DATA.problems[0].key, steps: Math.min(20, T), focus: 0, slots: [] };
  const firstAlgorithms = [...FIRST_CHOICE.filter((a) => DATA.algorithms[a]), ...algorithms.filter((a) => !FIRST_CHOICE.includes(a))];
  state.slots = firstAlgorithms.slice(0, SLOTS).map((alg) => ({ alg, idx: initialIndex(alg, state.problem) }));
  while (state.slots.length < SLOTS) state.slots.push(null);

  function rowOf(slot) {
    let row = 0;
    axesOf(slot.alg).forEach((axis, i) => { row = row * axis.values.length + slot.idx[i]; });
    return row;
  }
  function indexOfRow(alg, row) {
    const axes = axesOf(alg);
    const idx = new Array(axes.length);
    for (let i = axes.length - 1; i >= 0; i--) {
      idx[i] = row % axes[i].values.length;
      row = Math.floor(row / axes[i].values.length);
    }
    return idx;
  }
  const blockOf = (slot) => blocks[`${slot.alg}|${state.problem}`];
  function series(slot, channel) {
    const block = blockOf(slot);
    const c = block.channels.indexOf(channel);
    const offset = (rowOf(slot) * block.channels.length + c) * LEN;
    return block.values.subarray(offset, offset + LEN);
  }
  const divergedAt = (slot) => blockOf(slot).diverged[rowOf(slot)];
  const divergedShown = (slot) => { const d = divergedAt(slot); return d !== null && d <= state.steps ? d : null; };
  // the last step shown: the chosen step count, or the last finite point of a diverged run
  function lastStep(slot) {
    const d = divergedShown(slot);
    return d !== null ? d - 1 : state.steps;
  }
  function preciseEnd(slot, step) {
    const k = DATA.precise_steps.indexOf(step);
    if (k < 0) return null;
    const block = blockOf(slot);
    const base = (rowOf(slot) * DATA.precise_steps.length + k) * 2;
    return [block.precise[base], block.precise[base + 1]];
  }
  const active = () => state.slots.map((slot, s) => [slot, s]).filter(([slot]) => slot);

  // ---------- formatting: one format for every number the page writes ----------
  // 3 significant digits; below 1e-3 or from 1e5 on as mantissa e exponent (1.19e18, 2e-5), never 20 digits
  function num(v, digits = 3) {
    if (v === 0) return "0";
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
    const a = Math.abs(v);
    if (a >= 1e-3 && a < 1e5) return String(+v.toPrecision(digits)).replace("-", "−");
    let e = Math.floor(Math.log10(a));
    let m = +(v / Math.pow(10, e)).toPrecision(digits);
    if (Math.abs(m) >= 10) { m = +(m / 10).toPrecision(digits); e += 1; }
    return `${m}e${e}`.replace(/^-/, "−");
  }
  const show = (v) => num(v, 6); // a grid value as the sliders and the hash hold it (0.001, 1e-6, 0.999)
  const decadesText = (d) => (d >= 10 ? d.toFixed(0) : String(+d.toFixed(2)));
  const notesNumber = (v) => (Math.abs(v) < 1e15 ? v.toFixed(6) : v.toExponential(6));
  const keyOf = (axis) => (axis.part === null ? axis.name : `${axis.name}.${axis.part}`);
  function settingText(slot) {
    return axesOf(slot.alg).map((axis, i) => `${labelOf(axis)}=${show(axis.values[slot.idx[i]])}`).join(", ");
  }
  function notesRun(slot) {
    if (!slot) return null;
    return DATA.notes.find((n) => n.algorithm === slot.alg && n.index === rowOf(slot) && n.problem === state.problem) || null;
  }

  // ---------- URL hash ----------
  function toHash() {
    const parts = [`p=${encodeURIComponent(state.problem)}`, `T=${state.steps}`, `focus=${state.focus + 1}`];
    state.slots.forEach((slot, s) => {
      if (!slot) { parts.push(`o${s + 1}=off`); return; }
      const hp = axesOf(slot.alg).map((axis, i) => `${keyOf(axis)}=${axis.values[slot.idx[i]]}`).join(",");
      parts.push(`o${s + 1}=${slot.alg}:${hp}`);
    });
    return "#" + parts.join("&");
  }
  function nearest(axis, value) {
    let best = 0;
    let bestGap = Infinity;
    axis.values.forEach((v, i) => {
      const gap = axis.kind === "log" && v > 0 && value > 0 ? Math.abs(Math.log(v / value)) : Math.abs(v - value);
      if (gap < bestGap) { best = i; bestGap = gap; }
    });
    return best;
  }
  function fromHash(hash) {
    const params = new URLSearchParams(hash.replace(/^#/, ""));
    if (params.has("p") && problemsByKey[params.get("p")]) state.problem = params.get("p");
    if (params.has("T")) state.steps = Math.max(1, Math.min(T, parseInt(params.get("T"), 10) || state.steps));
    if (params.has("focus")) state.focus = Math.max(0, Math.min(SLOTS - 1, (parseInt(params.get("focus"), 10) || 1) - 1));
    for (let s = 0; s < SLOTS; s++) {
      const text = params.get(`o${s + 1}`);
      if (text === null) {
        if (state.slots[s]) state.slots[s].idx = initialIndex(state.slots[s].alg, state.problem);
        continue;
      }
      if (text === "off") { if (s > 0) state.slots[s] = null; continue; }
      const [alg, rest] = text.split(":");
      if (!DATA.algorithms[alg]) continue;
      const slot = { alg, idx: initialIndex(alg, state.problem) };
      const given = Object.fromEntries((rest || "").split(",").filter(Boolean).map((kv) => kv.split("=")));
      axesOf(alg).forEach((axis, i) => {
        const key = keyOf(axis);
        if (given[key] !== undefined && Number.isFinite(parseFloat(given[key]))) slot.idx[i] = nearest(axis, parseFloat(given[key]));
      });
      state.slots[s] = slot;
    }
    if (!state.slots[state.focus]) state.focus = 0;
  }

  // ---------- controls ----------
  function buildProblemControls() {
    const objective = $("objective");
    objective.innerHTML = "";
    for (const key of Object.keys(DATA.landscapes)) objective.add(new Option(S.landscapes[key], key));
    objective.onchange = () => {
      state.problem = DATA.problems.find((p) => p.landscape === objective.value).key;
      // each optimizer starts the new objective at the lr computed for it there (its other settings kept)
      for (const [slot] of active()) {
        const i = axesOf(slot.alg).findIndex((a) => a.name === "lr");
        if (i >= 0) slot.idx[i] = initialIndex(slot.alg, state.problem)[i];
      }
      changed();
    };
    $("start").onchange = () => { state.problem = $("start").value; changed(); };
    const steps = $("steps");
    steps.max = T;
    steps.oninput = (event) => { state.steps = +steps.value; changed(event); };
    const notes = $("notes-run");
    notes.innerHTML = "";
    notes.add(new Option("—", ""));
    DATA.notes.forEach((run, i) => notes.add(new Option(S.notes_runs[i], String(i))));
    notes.onchange = () => { if (notes.value !== "") selectNotes(+notes.value); };
  }
  function selectNotes(i) {
    const run = DATA.notes[i];
    state.problem = run.problem;
    state.steps = run.steps;
    state.slots[0] = { alg: run.algorithm, idx: indexOfRow(run.algorithm, run.index) };
    state.focus = 0;
    buildSlots();
    changed();
  }
  function syncProblemControls() {
    const problem = problemsByKey[state.problem];
    $("objective").value = problem.landscape;
    const start = $("start");
    start.innerHTML = "";
    DATA.problems.filter((p) => p.landscape === problem.landscape).forEach((p) => {
      start.add(new Option(`(${num(p.start[0])}, ${num(p.start[1])})`, p.key));
    });
    start.value = state.problem;
    $("steps").value = state.steps;
    $("steps-value").textContent = state.steps;
    const run = DATA.notes.findIndex((n) => n === notesRun(state.slots[0]));
    $("notes-run").value = run >= 0 && state.steps === DATA.notes[run].steps ? String(run) : "";
  }
  function buildSlots() {
    const box = $("slots");
    box.innerHTML = "";
    state.slots.forEach((slot, s) => {
      const field = document.createElement("fieldset");
      field.className = "slot";
      field.style.borderColor = COLORS[s];
      const legend = document.createElement("legend");
      legend.innerHTML = `<span class="swatch" style="background:${COLORS[s]}"></span>`;
      legend.append(say("optimizer_n", { n: s + 1 }));
      field.append(legend);
      const choose = document.createElement("select");
      choose.id = `slot${s}-alg`;
      choose.setAttribute("aria-label", say("optimizer_n", { n: s + 1 }));
      if (s > 0) choose.add(new Option(S.off, ""));
      algorithms.forEach((alg) => choose.add(new Option(titleOf(alg), alg)));
      choose.value = slot ? slot.alg : "";
      choose.onchange = () => {
        state.slots[s] = choose.value ? { alg: choose.value, idx: initialIndex(choose.value, state.problem) } : null;
        if (!state.slots[state.focus]) state.focus = 0;
        buildSlots();
        changed();
      };
      const focus = document.createElement("label");
      focus.className = "focus";
      focus.innerHTML = `<input type="radio" name="focus" id="slot${s}-focus" ${state.focus === s ? "checked" : ""} ${slot ? "" : "disabled"}> `;
      focus.append(S.map_and_state);
      focus.querySelector("input").onchange = () => { state.focus = s; changed(); };
      field.append(choose, focus);
      if (slot) {
        axesOf(slot.alg).forEach((axis, i) => {
          const row = document.createElement("div");
          row.className = "hp";
          const id = `slot${s}-${keyOf(axis).replace(".", "-")}`;
          const label = document.createElement("label");
          label.htmlFor = id;
          label.textContent = axis.kind === "log" ? say("log", { label: labelOf(axis) }) : labelOf(axis);
          const value = document.createElement("output");
          value.id = `${id}-value`;
          let input;
          if (axis.kind === "choice") {
            input = document.createElement("select");
            axis.values.forEach((v, j) => input.add(new Option(show(v), String(j))));
            input.value = String(slot.idx[i]);
            input.onchange = (event) => { slot.idx[i] = +input.value; changed(event); };
          } else {
            input = document.createElement("input");
            input.type = "range";
            input.min = 0;
            input.max = axis.values.length - 1;
            input.step = 1;
            input.value = slot.idx[i];
            input.oninput = (event) => { slot.idx[i] = +input.value; changed(event); };
          }
          input.id = id;
          input.dataset.slot = s;
          input.dataset.axis = i;
          row.append(label, input, value);
          field.append(row);
        });
      }
      box.append(field);
    });
    syncSlotValues();
  }
  function syncSlotValues() {
    state.slots.forEach((slot, s) => {
      if (!slot) return;
      axesOf(slot.alg).forEach((axis, i) => {
        const id = `slot${s}-${keyOf(axis).replace(".", "-")}`;
        const input = $(id);
        if (!input) return;
        input.value = String(slot.idx[i]);
        const text = show(axis.values[slot.idx[i]]);
        $(`${id}-value`).textContent = text;
        input.setAttribute("aria-valuetext", `${labelOf(axis)} = ${text}`);
      });
      const radio = $(`slot${s}-focus`);
      if (radio) radio.checked = state.focus === s;
    });
  }

  // ---------- canvases: sized to their figure's width and the device's pixel ratio ----------
  // Every text drawn on a canvas goes through text() and is kept (api.labels(): its box in CSS pixels), so a
  // label can be placed where no other is, and a test can check that none overlap.
  const drawnLabels = {};
  function setupCanvas(canvas, aspect, minHeight, maxHeight) {
    const width = Math.max(200, Math.floor(canvas.parentElement.clientWidth - 10));
    const height = Math.round(Math.max(minHeight, Math.min(maxHeight, width * aspect)));
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const labels = (drawnLabels[canvas.id] = []);
    return { ctx, width, height, ratio, labels };
  }
  const fontOf = (size, bold) => `${bold ? "bold " : ""}${size}px ${FONT}`;
  const widths = new Map(); // a text's width by font: measured once (setting ctx.font is the costly part)
  function measure(g, str, size = 11, bold = false) {
    const key = `${size}${bold ? "b" : ""}|${str}`;
    let width = widths.get(key);
    if (width === undefined) {
      g.ctx.font = fontOf(size, bold);
      width = g.ctx.measureText(str).width;
      widths.set(key, width);
    }
    return width;
  }
  function boxOf(g, str, x, y, o) {
    const size = o.size || 11;
    const w = measure(g, str, size, o.bold);
    const h = Math.ceil(size * 1.25);
    const x0 = o.align === "center" ? x - w / 2 : o.align === "right" ? x - w : x;
    return { text: str, x: x0, y: y - h / 2, w, h, kind: o.kind || "label" };
  }
  const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  const free = (g, box) => !g.labels.some((b) => overlaps(b, box));
  function text(g, str, x, y, o = {}) {
    const box = boxOf(g, str, x, y, o);
    const ctx = g.ctx;
    if (o.halo) {
      ctx.fillStyle = o.halo;
      ctx.fillRect(box.x - 1.5, box.y, box.w + 3, box.h);
    }
    ctx.font = fontOf(o.size || 11, o.bold);
    ctx.textAlign = o.align || "left";
    ctx.textBaseline = "middle";
    ctx.fillStyle = o.color || "#333";
    ctx.fillText(str, x, y);
    g.labels.push(box);
    return box;
  }
  // a label near (x, y) where it overlaps no label drawn before, inside `area`: tried right, left, then rows away
  function place(g, str, x, y, area, o = {}) {
    const size = o.size || 11;
    const h = Math.ceil(size * 1.25);
    for (let k = 0; k < 40; k++) {
      const dy = (k % 2 ? 1 : -1) * Math.ceil(k / 2) * (h + 1);
      for (const align of ["left", "right"]) {
        const px = align === "left" ? x + 7 : x - 7;
        const box = boxOf(g, str, px, y + dy, { ...o, align });
        if (box.x < area.x || box.x + box.w > area.x + area.w || box.y < area.y || box.y + box.h > area.y + area.h) continue;
        if (free(g, box)) return text(g, str, px, y + dy, { ...o, align });
      }
    }
    return null;
  }

  // ticks at 1, 2 or 5 times a power of ten, about n of them
  function ticks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / Math.max(1, n);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(+v.toPrecision(12));
    return out;
  }
  // on a log axis (positions in log10): whole decades if 3 or more fit, else 1-2-5 or 1..9 times a decade if 3 or
  // more of those fit, else 2 decades, else plain values (a range narrower than a factor of 2)
  function logTicks(lo, hi, n) {
    const decadeLabel = (e) => (e >= -2 && e <= 3 ? num(Math.pow(10, e)) : `1e${e}`);
    let decades = [];
    for (let k = 1; k <= 100; k++) {  // every k-th decade: the smallest k that gives at most max(n, 3) ticks
      decades = [];
      for (let e = Math.ceil(lo / k) * k; e <= hi; e += k) decades.push({ at: e, label: decadeLabel(e) });
      if (decades.length <= Math.max(n, 3)) break;
    }
    if (decades.length >= 3) return decades;
    for (const ms of [[1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
      const found = [];
      for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
        for (const m of ms) { const at = e + Math.log10(m); if (at >= lo && at <= hi) found.push({ at, label: num(m * Math.pow(10, e)) }); }
      }
      if (found.length >= 3 && found.length <= n + 1) return found;
    }
    if (decades.length >= 2) return decades;
    return ticks(Math.pow(10, lo), Math.pow(10, hi), n).filter((v) => v > 0).map((v) => ({ at: Math.log10(v), label: num(v) }));
  }
  // tick labels that do not touch: every k-th, the smallest k that leaves a gap
  function thin(list, gap) {
    for (let k = 1; k <= list.length; k++) {
      const kept = list.filter((t, i) => i % k === 0);
      if (kept.every((t, i) => i === 0 || gap(kept[i - 1], t))) return kept;
    }
    return list.slice(0, 1);
  }
  // axes of one plot in the rectangle `r`: y tick labels on the left (width measured), the y label above the
  // frame's left corner, x tick labels and the x label below (unless o.xTicks is false)
  function frame(g, r, xr, yr, o) {
    const ctx = g.ctx;
    const top = r.y + 20;
    const bottom = r.y + r.h - (o.xTicks === false ? 6 : 38);
    const h = bottom - top;
    const yt = o.ylog
      ? logTicks(yr[0], yr[1], Math.max(2, Math.floor(h / 28)))
      : ticks(yr[0], yr[1], Math.max(2, Math.floor(h / 30))).map((v) => ({ at: v, label: num(v) }));
    const left = r.x + Math.ceil(Math.max(20, ...yt.map((t) => measure(g, t.label)))) + 8;
    const w = r.x + r.w - 10 - left;
    const sx = (x) => left + ((x - xr[0]) / (xr[1] - xr[0] || 1)) * w;
    const sy = (y) => top + h - ((y - yr[0]) / (yr[1] - yr[0] || 1)) * h;
    ctx.strokeStyle = "#888";
    ctx.lineWidth = 1;
    ctx.strokeRect(left, top, w, h);
    const yKept = thin(yt, (p, q) => Math.abs(sy(p.at) - sy(q.at)) >= 15);
    for (const t of yKept) text(g, t.label, left - 4, sy(t.at), { align: "right", kind: "ytick" });
    if (o.xTicks !== false) {
      const xt = ticks(xr[0], xr[1], Math.max(2, Math.floor(w / 70))).map((v) => ({ at: v, label: num(v) }));
      const xKept = thin(xt, (p, q) => sx(q.at) - sx(p.at) >= (measure(g, p.label) + measure(g, q.label)) / 2 + 8);
      for (const t of xKept) {  // under the frame, clear of the lowest y label (a tick at the corner is left out)
        const box = boxOf(g, t.label, sx(t.at), bottom + 14, { align: "center" });
        if (free(g, box)) text(g, t.label, sx(t.at), bottom + 14, { align: "center", kind: "xtick" });
      }
      text(g, o.xlabel, left + w / 2, bottom + 29, { align: "center", kind: "axis" });
    }
    text(g, o.ylabel, left, top - 10, { kind: "axis" });
    return { sx, sy, left, top, w, h };
  }
  function clipped(ctx, plot, draw) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(plot.left, plot.top, plot.w, plot.h);
    ctx.clip();
    draw();
    ctx.restore();
  }
  function line(ctx, xs, ys, color, dash) {
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.6;
    ctx.setLineDash(dash || []);
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < xs.length; i++) {
      if (!Number.isFinite(ys[i]) || !Number.isFinite(xs[i])) { pen = false; continue; }
      if (pen) ctx.lineTo(xs[i], ys[i]); else ctx.moveTo(xs[i], ys[i]);
      pen = true;
    }
    ctx.stroke();
    ctx.setLineDash([]);
  }
  function cross(ctx, x, y, color) {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    ctx.moveTo(x - 5, y - 5); ctx.lineTo(x + 5, y + 5);
    ctx.moveTo(x + 5, y - 5); ctx.lineTo(x - 5, y + 5);
    ctx.stroke();
  }
  function describe(canvas, caption, summary) {
    canvas.setAttribute("aria-label", summary ? `${caption} ${summary}` : caption);
  }

  // ---------- view: contours and paths ----------
  const backgrounds = {};
  function background(key, width, height) {
    const cacheKey = `${key}|${width}x${height}`;
    if (backgrounds[cacheKey]) return backgrounds[cacheKey];
    const land = DATA.landscapes[key];
    const grid = grids[key];
    const n = land.grid_points;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of grid) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const levels = 16;
    const floor = Math.max(lo, hi * 1e-6, 1e-12);
    const band = (v) => land.log_levels
      ? Math.floor((levels * Math.log(Math.max(v, floor) / floor)) / Math.log(hi / floor))
      : Math.floor(levels * Math.sqrt(Math.max(0, (v - lo) / (hi - lo))));
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(width, height);
    const bands = new Int16Array(width * height);
    for (let py = 0; py < height; py++) {
      const gy = (1 - py / (height - 1)) * (n - 1);
      const j0 = Math.min(n - 2, Math.floor(gy));
      const fy = gy - j0;
      for (let px = 0; px < width; px++) {
        const gx = (px / (width - 1)) * (n - 1);
        const i0 = Math.min(n - 2, Math.floor(gx));
        const fx = gx - i0;
        const v = (1 - fy) * ((1 - fx) * grid[j0 * n + i0] + fx * grid[j0 * n + i0 + 1])
          + fy * ((1 - fx) * grid[(j0 + 1) * n + i0] + fx * grid[(j0 + 1) * n + i0 + 1]);
        bands[py * width + px] = band(v);
      }
    }
    for (let p = 0; p < width * height; p++) {
      const b = bands[p];
      const edge = (p % width < width - 1 && bands[p + 1] !== b) || (p + width < width * height && bands[p + width] !== b);
      const t = Math.min(1, b / levels);
      const o = p * 4;
      image.data[o] = edge ? 90 : 225 - 60 * t;
      image.data[o + 1] = edge ? 110 : 235 - 45 * t;
      image.data[o + 2] = edge ? 160 : 250 - 20 * t;
      image.data[o + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
    backgrounds[cacheKey] = canvas;
    return canvas;
  }
  let pathsLayout = null;
  function drawPaths() {
    const canvas = $("view-paths");
    const g = setupCanvas(canvas, 0.75, 260, 560);
    const ctx = g.ctx;
    const problem = problemsByKey[state.problem];
    const land = DATA.landscapes[problem.landscape];
    const [[a1, b1], [a2, b2]] = land.window;
    const plot = frame(g, { x: 0, y: 0, w: g.width, h: g.height }, [a1, b1], [a2, b2], { xlabel: "x1", ylabel: "x2" });
    pathsLayout = plot;
    const bg = background(problem.landscape, Math.round(plot.w * g.ratio), Math.round(plot.h * g.ratio));
    ctx.drawImage(bg, plot.left, plot.top, plot.w, plot.h);
    ctx.strokeRect(plot.left, plot.top, plot.w, plot.h);
    const area = { x: plot.left, y: plot.top, w: plot.w, h: plot.h };
    clipped(ctx, plot, () => {
      for (const p of DATA.problems.filter((q) => q.landscape === problem.landscape)) {
        ctx.beginPath();
        ctx.arc(plot.sx(p.start[0]), plot.sy(p.start[1]), p.key === state.problem ? 5 : 3.5, 0, 2 * Math.PI);
        ctx.fillStyle = p.key === state.problem ? "#000" : "#fff";
        ctx.strokeStyle = "#000";
        ctx.fill();
        ctx.stroke();
      }
      for (const [slot, s] of active()) {
        const x1 = series(slot, "x1");
        const x2 = series(slot, "x2");
        const last = lastStep(slot);
        const xs = [];
        const ys = [];
        for (let t = 0; t <= last; t++) { xs.push(plot.sx(x1[t])); ys.push(plot.sy(x2[t])); }
        line(ctx, xs, ys, COLORS[s]);
        ctx.fillStyle = COLORS[s];
        for (let t = 1; t <= last; t++) {
          if (Number.isFinite(xs[t]) && Number.isFinite(ys[t])) ctx.fillRect(xs[t] - 1.5, ys[t] - 1.5, 3, 3);
        }
      }
    });
    for (const [m1, m2] of land.minima) {
      const x = plot.sx(m1);
      const y = plot.sy(m2);
      if (x > area.x && x < area.x + area.w && y > area.y && y < area.y + area.h) text(g, "★", x, y, { align: "center", size: 14, color: "#222" });
    }
    // divergence: a ✕ at the last finite point (pinned inside the frame), its label where no other label is
    let marked = 0;
    for (const [slot, s] of active()) {
      const d = divergedShown(slot);
      if (d === null) continue;
      const t = d - 1;
      const px = Math.min(area.x + area.w - 6, Math.max(area.x + 6, plot.sx(series(slot, "x1")[t])));
      const py = Math.min(area.y + area.h - 6, Math.max(area.y + 6, plot.sy(series(slot, "x2")[t])));
      cross(ctx, px, py, COLORS[s]);
      place(g, say("diverged_mark", { step: d }), px, py, area, { color: COLORS[s], bold: true, halo: "rgba(255,255,255,0.85)", kind: "diverged" });
      marked += 1;
    }
    const caption = S.caption_paths + (marked ? " " + S.caption_paths_diverged : "");
    $("paths-caption").textContent = caption;
    const runs = active().map(([slot]) => {
      const d = divergedShown(slot);
      if (d !== null) return say("alt_diverged", { title: titleOf(slot.alg), step: d });
      const last = lastStep(slot);
      return say("alt_path", { title: titleOf(slot.alg), x1: num(series(slot, "x1")[last]), x2: num(series(slot, "x2")[last]),
        f: num(series(slot, "f")[last]), steps: last });
    });
    const summary = runs.join("; ");
    describe(canvas, caption, summary);
    $("summary").textContent = summary;
  }

  // ---------- views: f against step, effective lr, state ----------
  function range(values, log) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (!Number.isFinite(v)) continue;
      const y = log ? Math.log10(v) : v;
      if (!Number.isFinite(y)) continue;
      if (y < lo) lo = y;
      if (y > hi) hi = y;
    }
    if (!(hi >= lo)) return [0, 1];
    if (hi - lo < 0.3 && log) { const mid = (hi + lo) / 2; return [mid - 0.15, mid + 0.15]; }
    if (hi - lo < 1e-9) return [lo - 0.5, hi + 0.5];
    return [lo, hi + (hi - lo) * 0.05];
  }
  function robustRange(values) {
    const finite = values.filter(Number.isFinite).sort((p, q) => p - q);
    if (!finite.length) return [0, 1];
    const lo = finite[Math.floor(finite.length * 0.02)];
    const hi = finite[Math.ceil(finite.length * 0.98) - 1];
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
    return [lo - pad, hi + pad];
  }
  function drawLoss() {
    const canvas = $("view-loss");
    const g = setupCanvas(canvas, 0.5, 200, 300);
    const all = [];
    for (const [slot] of active()) {
      const f = series(slot, "f");
      for (let t = 0; t <= lastStep(slot); t++) if (f[t] > 0) all.push(f[t]);
    }
    const yr = range(all, true);
    yr[0] = Math.max(yr[0], yr[1] - 40);
    const plot = frame(g, { x: 0, y: 0, w: g.width, h: g.height }, [0, state.steps], yr, { xlabel: S.step_axis, ylabel: "f(x_t)", ylog: true });
    clipped(g.ctx, plot, () => {
      for (const [slot, s] of active()) {
        const f = series(slot, "f");
        const xs = [];
        const ys = [];
        for (let t = 0; t <= lastStep(slot); t++) { xs.push(plot.sx(t)); ys.push(plot.sy(f[t] > 0 ? Math.log10(f[t]) : yr[0] - 1)); }
        line(g.ctx, xs, ys, COLORS[s]);
      }
    });
    $("loss-caption").textContent = S.caption_loss;
    describe(canvas, S.caption_loss, active().map(([slot]) => say("alt_loss", {
      title: titleOf(slot.alg), first: num(series(slot, "f")[0]), last: num(series(slot, "f")[lastStep(slot)]), steps: lastStep(slot),
    })).join("; "));
  }
  function drawRates() {
    const canvas = $("view-elr");
    const g = setupCanvas(canvas, 0.5, 200, 300);
    const all = [];
    const turning = [];
    for (const [slot] of active()) {
      let negative = false;
      for (const c of ["elr1", "elr2"]) {
        const v = series(slot, c).subarray(1, lastStep(slot) + 1);
        all.push(...v);
        if (v.some((x) => x < 0)) negative = true;
      }
      if (negative) turning.push(titleOf(slot.alg));
    }
    const plot = frame(g, { x: 0, y: 0, w: g.width, h: g.height }, [0, state.steps], robustRange(all), { xlabel: S.step_axis, ylabel: "−Δx/g" });
    clipped(g.ctx, plot, () => {
      for (const [slot, s] of active()) {
        ["elr1", "elr2"].forEach((c, k) => {
          const v = series(slot, c);
          const xs = [];
          const ys = [];
          for (let t = 1; t <= lastStep(slot); t++) { xs.push(plot.sx(t)); ys.push(plot.sy(v[t])); }
          line(g.ctx, xs, ys, COLORS[s], k ? [5, 3] : []);
        });
      }
    });
    // −Δx/g is an effective rate only where the step is a multiple of g; a rule that steps along a running
    // average of gradients makes it change sign and spike where g passes 0: said when it is seen in the data
    const caption = S.caption_rates + (turning.length ? " " + say("rates_velocity", { titles: turning.join(", ") }) : "");
    $("elr-caption").textContent = caption;
    describe(canvas, caption, active().map(([slot]) => say("alt_rates", {
      title: titleOf(slot.alg), x1: num(series(slot, "elr1")[lastStep(slot)]), x2: num(series(slot, "elr2")[lastStep(slot)]), steps: lastStep(slot),
    })).join("; "));
  }
  function stateKeys(slot) {
    return blockOf(slot).channels.slice(5).filter((c) => c.endsWith("1")).map((c) => c.slice(0, -1));
  }
  function drawState() {
    const canvas = $("view-state");
    const slot = state.slots[state.focus];
    const keys = stateKeys(slot);
    const caption = keys.length
      ? say("state_caption", { title: titleOf(slot.alg), keys: keys.join(", ") })
      : say("no_state", { title: titleOf(slot.alg) });
    $("state-caption").textContent = caption;
    canvas.hidden = !keys.length;
    drawnLabels[canvas.id] = [];
    if (!keys.length) return;
    // one plot per state tensor, sharing the step axis (written once, under the last)
    const per = 130;
    const g = setupCanvas(canvas, 0, keys.length * per + 30, keys.length * per + 30);
    const last = lastStep(slot);
    const values = [];
    keys.forEach((key, k) => {
      const v1 = series(slot, key + "1");
      const v2 = series(slot, key + "2");
      const bottom = k === keys.length - 1;
      const r = { x: 0, y: k * per, w: g.width, h: per + (bottom ? 30 : 0) };
      const plot = frame(g, r, [0, state.steps], robustRange([...v1.subarray(0, last + 1), ...v2.subarray(0, last + 1)]),
        { xlabel: S.step_axis, ylabel: key, xTicks: bottom });
      clipped(g.ctx, plot, () => {
        [v1, v2].forEach((v, c) => {
          const xs = [];
          const ys = [];
          for (let t = 0; t <= last; t++) { xs.push(plot.sx(t)); ys.push(plot.sy(v[t])); }
          line(g.ctx, xs, ys, COLORS[state.focus], c ? [5, 3] : []);
        });
      });
      values.push(`${key} = (${num(v1[last])}, ${num(v2[last])})`);
    });
    describe(canvas, caption, say("alt_state", { steps: last, values: values.join("; ") }));
  }

  // ---------- view: the rate map ----------
  function mapAxes(slot) {
    const axes = axesOf(slot.alg);
    const x = axes.findIndex((axis) => axis.kind === "log");
    const y = axes.findIndex((axis, i) => i !== x && axis.kind === "linear");
    return { x, y };
  }
  // how f changed in T steps: log10(f(x_T) / f(x_0)), and the per-step rate of sqrt(f), (f_T / f_0)^(1/2T)
  // (every objective here has f = 0 at its minima). The colour is the rate on one fixed scale for every
  // algorithm, objective and step count: log10(1 − rate) from 0 (rate 0, dark) to −3 (rate 0.999 and above,
  // yellow), so 0.9 and 0.99 differ as much as 0.99 and 0.999 (above 1: f grew, dark red; grey: diverged).
  function rateOf(slot) {
    const d = divergedShown(slot);
    if (d !== null) return { diverged: d };
    const f = series(slot, "f");
    if (!(f[0] > 0)) return { rate: 0, decades: -Infinity };
    const ratio = Math.max(f[state.steps], 0) / f[0];
    return { rate: Math.pow(ratio, 1 / (2 * state.steps)), decades: ratio > 0 ? Math.log10(ratio) : -Infinity };
  }
  const GREW = "#7f0000";
  const DIVERGED = "#bdbdbd";
  const BAR_RATES = [0, 0.9, 0.99, 0.999];
  const scaleOf = (rate) => Math.max(0, Math.min(1, -Math.log10(Math.max(1e-3, 1 - rate)) / 3));
  function color(rate) {
    if (rate > 1) return GREW;
    const t = scaleOf(rate);
    const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
    const u = t * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(u));
    const f = u - i;
    const c = stops[i].map((v, k) => Math.round(v + f * (stops[i + 1][k] - v)));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }
  let mapLayout = null;
  function drawMap() {
    const canvas = $("view-map");
    const slot = state.slots[state.focus];
    const axes = axesOf(slot.alg);
    const { x, y } = mapAxes(slot);
    const nx = x >= 0 ? axes[x].values.length : 1;
    const ny = y >= 0 ? axes[y].values.length : 1;
    const g = ny > 1 ? setupCanvas(canvas, 0.8, 280, 440) : setupCanvas(canvas, 0, 150, 150);
    const ctx = g.ctx;
    // the y axis: its values' labels measured
    const yLabels = y >= 0 ? axes[y].values.map(show) : [];
    const left = Math.ceil(Math.max(24, ...yLabels.map((t) => measure(g, t, 10)))) + 8;
    const top = 22;
    const w = g.width - left - 12;
    const h = g.height - top - 76;
    const cw = w / nx;
    const ch = h / ny;
    mapLayout = { x, y, nx, ny, left, top, cw, ch };
    const probe = { alg: slot.alg, idx: slot.idx.slice() };
    const cells = [];
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < ny; j++) {
        if (x >= 0) probe.idx[x] = i;
        if (y >= 0) probe.idx[y] = j;
        cells.push(rateOf(probe));
      }
    }
    const cellAt = (i, j) => ({ px: left + i * cw, py: top + (ny - 1 - j) * ch });
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < ny; j++) {
        const r = cells[i * ny + j];
        const { px, py } = cellAt(i, j);
        ctx.fillStyle = r.diverged ? DIVERGED : color(r.rate);
        ctx.fillRect(px, py, cw + 0.5, ch + 0.5);
      }
    }
    const overlay = drawTheoryOverlay(ctx, slot, axes, x, y, { left, top, w, h, nx, ny, cw, ch });
    // the step of divergence in each grey cell, on the cell's own grey (over the bound's line), where it fits
    let written = 0;
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < ny; j++) {
        const r = cells[i * ny + j];
        if (!r.diverged) continue;
        const { px, py } = cellAt(i, j);
        const label = String(r.diverged);
        if (measure(g, label, 9) + 3 > cw || 12 > ch) continue;
        text(g, label, px + cw / 2, py + ch / 2, { align: "center", size: 9, color: "#333", halo: DIVERGED, kind: "cell" });
        written += 1;
      }
    }
    // the current setting
    const cx = x >= 0 ? slot.idx[x] : 0;
    const cy = y >= 0 ? slot.idx[y] : 0;
    const sel = cellAt(cx, cy);
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 3;
    ctx.strokeRect(sel.px + 1.5, sel.py + 1.5, cw - 3, ch - 3);
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1;
    ctx.strokeRect(sel.px + 1.5, sel.py + 1.5, cw - 3, ch - 3);
    // axes: every k-th value, k as small as leaves the labels apart
    if (x >= 0) {
      const list = axes[x].values.map((v, i) => ({ i, label: show(v) }));
      const kept = thin(list, (p, q) => (q.i - p.i) * cw >= (measure(g, p.label, 10) + measure(g, q.label, 10)) / 2 + 6);
      for (const t of kept) text(g, t.label, left + (t.i + 0.5) * cw, top + h + 10, { align: "center", size: 10 });
      text(g, say("log", { label: labelOf(axes[x]) }), left + w / 2, top + h + 24, { align: "center" });
    }
    if (y >= 0) {
      const list = yLabels.map((label, j) => ({ j, label }));
      const kept = thin(list, (p, q) => (q.j - p.j) * ch >= 14);
      for (const t of kept) text(g, t.label, left - 4, top + (ny - 1 - t.j + 0.5) * ch, { align: "right", size: 10 });
      text(g, labelOf(axes[y]), left, top - 11, {});
    }
    // the colour bar, under the map: the rate from 0 to 1, then the two colours outside it
    const barTop = top + h + 40;
    const barTitle = text(g, S.map_bar, left, barTop + 6, { size: 10, kind: "bar" });
    const barLeft = barTitle.x + barTitle.w + 8;
    const barWidth = Math.max(60, Math.min(160, g.width - barLeft - 150));
    mapLayout.bar = { left: barLeft, top: barTop, width: barWidth, height: 12 };
    for (let k = 0; k < 50; k++) { ctx.fillStyle = color(1 - Math.pow(10, -3 * k / 49)); ctx.fillRect(barLeft + (k * barWidth) / 50, barTop, barWidth / 50 + 0.5, 12); }
    const barTicks = BAR_RATES.map((v) => ({ at: barLeft + scaleOf(v) * barWidth, label: num(v) }));
    for (const t of thin(barTicks, (p, q) => q.at - p.at >= (measure(g, p.label, 10) + measure(g, q.label, 10)) / 2 + 4)) {
      text(g, t.label, t.at, barTop + 22, { align: "center", size: 10, kind: "bar" });
    }
    const grew = cells.some((r) => !r.diverged && r.rate > 1);
    const diverged = cells.some((r) => r.diverged);
    let key = barLeft + barWidth + 12;
    for (const [shown, fill, label] of [[grew, GREW, S.map_bar_grew], [diverged, DIVERGED, S.map_bar_diverged]]) {
      if (!shown) continue;
      ctx.fillStyle = fill;
      ctx.fillRect(key, barTop, 12, 12);
      const box = text(g, label, key + 15, barTop + 6, { size: 10, kind: "bar" });
      key = box.x + box.w + 10;
    }
    // the caption says what is drawn, and only that
    const r = rateOf(slot);
    let selected;
    if (r.diverged) selected = say("map_diverged", { step: r.diverged });
    else if (!Number.isFinite(r.decades)) selected = say("map_zero", { rate: num(r.rate) });
    else if (r.decades <= 0) selected = say("map_fell", { decades: decadesText(-r.decades), rate: num(r.rate) });
    else selected = say("map_grew", { decades: decadesText(r.decades), rate: num(r.rate) });
    const parts = [say("map_caption", { title: titleOf(slot.alg), steps: state.steps })];
    if (grew) parts.push(S.map_caption_grew);
    if (diverged) parts.push(written ? S.map_caption_diverged_steps : S.map_caption_diverged);
    if (overlay.bound) parts.push(overlay.kind === "gd" ? S.map_caption_gd_bound : S.map_caption_momentum_bound);
    if (overlay.optimum) parts.push(S.map_caption_optimum);
    parts.push(say("map_selected", { selected }));
    const caption = parts.join(" ");
    $("map-caption").textContent = caption;
    describe(canvas, caption, "");
  }
  // a value's position on a grid axis, in cells (piecewise linear in log lr or in β)
  function position(axis, value) {
    const f = axis.kind === "log" ? Math.log : (v) => v;
    const vs = axis.values.map(f);
    const v = f(value);
    if (v <= vs[0]) return 0.5 - (vs[0] - v) / ((vs[1] - vs[0]) || 1);
    for (let i = 0; i < vs.length - 1; i++) if (v <= vs[i + 1]) return i + 0.5 + (v - vs[i]) / (vs[i + 1] - vs[i]);
    return vs.length - 0.5 + (v - vs[vs.length - 1]) / ((vs[vs.length - 1] - vs[vs.length - 2]) || 1);
  }
  // the stability bound (white dashes) and the optimum (✚) where theory has them; returns what it drew
  function drawTheoryOverlay(ctx, slot, axes, x, y, g) {
    const drawn = { bound: false, optimum: false, kind: null };
    const theory = DATA.landscapes[problemsByKey[state.problem].landscape].theory;
    const kind = DATA.algorithms[slot.alg].theory;
    if (!theory.quadratic || !kind || x < 0) return drawn;
    drawn.kind = kind === "gd" || y < 0 ? "gd" : "heavy_ball";
    const inside = (px, py) => px >= g.left && px <= g.left + g.w && py >= g.top && py <= g.top + g.h;
    ctx.save();
    ctx.beginPath();
    ctx.rect(g.left, g.top, g.w, g.h);
    ctx.clip();
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 2;
    ctx.setLineDash([6, 3]);
    if (drawn.kind === "gd") {
      const px = g.left + position(axes[x], theory.gd_max_lr) * g.cw;
      drawn.bound = inside(px, g.top);
      ctx.beginPath();
      ctx.moveTo(px, g.top);
      ctx.lineTo(px, g.top + g.h);
      ctx.stroke();
    } else {
      const bound = theory.momentum_bound;
      ctx.beginPath();
      bound.beta.forEach((b, k) => {
        const px = g.left + position(axes[x], bound.lr[k]) * g.cw;
        const py = g.top + (g.ny - position(axes[y], b)) * g.ch;
        if (inside(px, py)) drawn.bound = true;
        if (k) ctx.lineTo(px, py); else ctx.moveTo(px, py);
      });
      ctx.stroke();
      ctx.setLineDash([]);
      const px = g.left + position(axes[x], theory.momentum_best_lr) * g.cw;
      const py = g.top + (g.ny - position(axes[y], theory.momentum_best_beta)) * g.ch;
      if (inside(px, py)) {
        drawn.optimum = true;
        ctx.strokeStyle = "#000";
        ctx.lineWidth = 4;
        ctx.beginPath();
        ctx.moveTo(px - 7, py); ctx.lineTo(px + 7, py); ctx.moveTo(px, py - 7); ctx.lineTo(px, py + 7);
        ctx.stroke();
        ctx.strokeStyle = "#fff";
        ctx.lineWidth = 2;
        ctx.stroke();
      }
    }
    ctx.restore();
    return drawn;
  }
  function selectCell(i, j, event) {
    const { x, y, nx, ny } = mapLayout;
    if (i < 0 || i >= nx || j < 0 || j >= ny) return;
    const slot = state.slots[state.focus];
    if (x >= 0) slot.idx[x] = i;
    if (y >= 0) slot.idx[y] = j;
    changed(event);
  }
  function clickMap(event) {
    if (!mapLayout) return;
    const box = $("view-map").getBoundingClientRect();
    const { ny, left, top, cw, ch } = mapLayout;
    selectCell(Math.floor((event.clientX - box.left - left) / cw), ny - 1 - Math.floor((event.clientY - box.top - top) / ch), event);
  }
  function keyMap(event) {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    if (!mapLayout || !moves[event.key]) return;
    event.preventDefault();
    const slot = state.slots[state.focus];
    const { x, y } = mapLayout;
    selectCell((x >= 0 ? slot.idx[x] : 0) + moves[event.key][0], (y >= 0 ? slot.idx[y] : 0) + moves[event.key][1], event);
  }
  function clickPaths(event) {
    if (!pathsLayout) return;
    const box = $("view-paths").getBoundingClientRect();
    const mx = event.clientX - box.left;
    const my = event.clientY - box.top;
    const problem = problemsByKey[state.problem];
    let best = null;
    let gap = 15;
    for (const p of DATA.problems.filter((q) => q.landscape === problem.landscape)) {
      const d = Math.hypot(pathsLayout.sx(p.start[0]) - mx, pathsLayout.sy(p.start[1]) - my);
      if (d < gap) { best = p; gap = d; }
    }
    if (best) { state.problem = best.key; changed(event); }
  }
  function keyPaths(event) {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    const starts = DATA.problems.filter((q) => q.landscape === landscapeOf(state.problem));
    state.problem = starts[(starts.findIndex((p) => p.key === state.problem) + 1) % starts.length].key;
    changed(event);
  }

  // ---------- theory numbers and the read-out ----------
  function drawTheory() {
    const theory = DATA.landscapes[problemsByKey[state.problem].landscape].theory;
    const rows = [];
    if (theory.quadratic) {
      rows.push([S.theory_kappa, num(theory.kappa)], [S.theory_eigenvalues, `${num(theory.lmin)}, ${num(theory.lmax)}`]);
      rows.push([S.theory_gd_stable, say("theory_gd_bound", { value: num(theory.gd_max_lr) })]);
      rows.push([S.theory_gd_best, `${num(theory.gd_best_lr)}, ${num(theory.gd_best_rate)}`]);
      rows.push([S.theory_momentum_best, say("theory_momentum_best_value", {
        lr: num(theory.momentum_best_lr), beta: num(theory.momentum_best_beta), rate: num(theory.momentum_best_rate) })]);
      const slot = state.slots[state.focus];
      const axes = axesOf(slot.alg);
      const b = axes.findIndex((axis) => axis.name === "momentum");
      if (DATA.algorithms[slot.alg].theory === "heavy_ball" && b >= 0) {
        const beta = axes[b].values[slot.idx[b]];
        const k = theory.momentum_bound.beta.findIndex((v) => Math.abs(v - beta) < 1e-12);
        if (k >= 0) rows.push([say("theory_momentum_stable", { beta: show(beta) }), num(theory.momentum_bound.lr[k])]);
      }
    } else {
      rows.push([S.theory_not_quadratic, num(theory.kappa_at_minimum)]);
      rows.push([S.theory_hessian, theory.eigenvalues.map((v) => num(v)).join(", ")]);
    }
    $("theory").innerHTML = rows.map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`).join("");
  }
  function drawReadout() {
    const head = [S.head_optimizer, S.head_setting, say("head_end", { steps: DATA.precise_steps.join(", ") }), S.head_f, S.head_state];
    const rows = [];
    for (const [slot, s] of active()) {
      const d = divergedShown(slot);
      const step = state.steps;
      let end;
      if (d !== null) {
        end = say("readout_diverged", { step: d });
      } else {
        const exact = preciseEnd(slot, step);
        if (exact) end = `epoch ${step}, x1 ${notesNumber(exact[0])}, x2 ${notesNumber(exact[1])}`;
        else end = `epoch ${step}, x1 ≈ ${num(series(slot, "x1")[step], 4)}, x2 ≈ ${num(series(slot, "x2")[step], 4)}`;
      }
      const last = lastStep(slot);
      const f = series(slot, "f")[last];
      const st = stateKeys(slot).map((key) => `${key} = (${num(series(slot, key + "1")[last], 4)}, ${num(series(slot, key + "2")[last], 4)})`).join("; ") || "—";
      const run = notesRun(slot);
      let notes = "";
      if (run && step === run.steps) notes = `<div class="notes">${escape(S.notes_printed)} <code>${escape(run.printed)}</code> ${escape(run.printed === end ? S.same_digits : S.differs)}</div>`;
      rows.push(`<tr id="readout-${s}"><td><span class="swatch" style="background:${COLORS[s]}"></span>${escape(titleOf(slot.alg))}</td>`
        + `<td data-label="${escape(head[1])}">${escape(settingText(slot))}</td><td class="end" data-label="${escape(head[2])}"><code>${escape(end)}</code>${notes}</td>`
        + `<td data-label="${escape(head[3])}">${num(f)}</td><td class="state" data-label="${escape(head[4])}">${escape(st)}</td></tr>`);
    }
    $("readout").innerHTML = `<tr>${head.map((h) => `<th>${escape(h)}</th>`).join("")}</tr>` + rows.join("");
  }

  // ---------- redraw ----------
  let drawnWidth = 0; // the root's width the canvases were sized for
  function redraw() {
    const t0 = performance.now();
    drawnWidth = root.clientWidth;
    syncProblemControls();
    syncSlotValues();
    drawTheory();
    drawReadout();
    drawMap();
    drawPaths();
    drawLoss();
    drawRates();
    drawState();
    api.draws += 1;
    const elapsed = performance.now() - t0;
    api.timings.push(elapsed);
    return elapsed;
  }
  function changed(event) {
    redraw();
    if (event && event.timeStamp) api.inputTimings.push(performance.now() - event.timeStamp);
    if (!keepsHash) return;
    const hash = toHash();
    if (host.readHash() !== hash) host.writeHash(hash);
  }
  api.state = () => JSON.parse(JSON.stringify(state));
  api.hash = toHash;
  api.redraw = redraw;
  api.selectNotes = selectNotes;
  api.mapLayout = () => mapLayout;
  api.labels = () => JSON.parse(JSON.stringify(drawnLabels));

  api.done = decodeAll().then(() => {
    if (keepsHash) fromHash(host.readHash());
    buildProblemControls();
    buildSlots();
    $("view-map").addEventListener("click", clickMap);
    $("view-map").addEventListener("keydown", keyMap);
    $("view-paths").addEventListener("click", clickPaths);
    $("view-paths").addEventListener("keydown", keyPaths);
    if (keepsHash && host.onHash) host.onHash(() => { fromHash(host.readHash()); buildSlots(); redraw(); });
    changed();
    // the canvases follow their column's width (a window resized, a phone turned, a notebook's cell)
    // (a scroll bar that appears because the drawn page grew narrows it too)
    new ResizeObserver(() => {
      if (root.clientWidth !== drawnWidth && root.clientWidth) requestAnimationFrame(() => { if (root.clientWidth !== drawnWidth) redraw(); });
    }).observe(root);
    root.querySelector(".dlx").classList.remove("loading");
    root.querySelector(".dlx-status").remove();
    api.ready = true;
    return api;
  }).catch((error) => {
    root.querySelector(".dlx-status").textContent = say("decode_failed", { error });
    throw error;
  });
  return api;
}

// the page's host: the state in the URL hash
export function pageHost() {
  return {
    readHash: () => location.hash,
    writeHash: (hash) => {
      try {
        history.replaceState(null, "", hash);
      } catch (error) {
        // a sandboxed frame (Jupyter's srcdoc) has no URL of its own to keep the state in
      }
    },
    onHash: (listen) => window.addEventListener("hashchange", listen),
  };
}

// the standalone page: its data and texts are embedded in it (in a notebook the widget calls mount: widget.js)
if (typeof document !== "undefined" && document.getElementById("explore-data") && document.getElementById("explorer")) {
  window.explore = mount(
    document.getElementById("explorer"),
    JSON.parse(document.getElementById("explore-data").textContent),
    JSON.parse(document.getElementById("explore-strings").textContent),
    pageHost(),
  );
}
