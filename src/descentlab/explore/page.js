// descentlab explore: draws the precomputed grids embedded in this page. No update rule is written here:
// every number comes from the library's registry rules (run_batch), the page only looks values up.
// mount(root, DATA, S, host) draws into root: the page's document, or a Jupyter widget's shadow root (widget.js).
// DATA is the grids, S every text the script shows in the page's language (built in Python: looked up, {name} filled
// with a shown value); host says where the view's state is kept (the URL hash on the page, a model trait in Jupyter)
// and which element carries the "loading" class. Returns the page's test API (window.explore on the page).
export function mount(root, DATA, S, host) {
  "use strict";
  host = host || pageHost();
  const say = (key, values) => S[key].replace(/\{(\w+)\}/g, (whole, name) => String(values[name]));
  const titleOf = (alg) => S.titles[alg];
  const labelOf = (axis) => S.axis_labels[axis.label] || axis.label;
  const T = DATA.steps;
  const LEN = T + 1;
  const COLORS = ["#d95f02", "#1b9e77", "#7570b3"];
  const SLOTS = 3;
  const api = { ready: false, timings: [], inputTimings: [], draws: 0 };
  const $ = (id) => root.getElementById(id);
  const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

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
  const middle = (axis) => Math.floor((axis.values.length - 1) / 2);
  function initialIndex(alg) {
    return axesOf(alg).map((axis) => (axis.initial === undefined ? middle(axis) : axis.initial));
  }
  const state = {
    problem: DATA.problems[0].key,
    steps: Math.min(20, T),
    focus: 0,
    slots: algorithms.slice(0, SLOTS).map((alg) => ({ alg, idx: initialIndex(alg) })),
  };
  while (state.slots.length < SLOTS) state.slots.push(null);

  function rowOf(slot) {
    const axes = axesOf(slot.alg);
    let row = 0;
    axes.forEach((axis, i) => { row = row * axis.values.length + slot.idx[i]; });
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
  // the last step shown: the chosen step count, or the last finite point of a diverged run
  function lastStep(slot) {
    const d = divergedAt(slot);
    return d !== null && d <= state.steps ? d - 1 : state.steps;
  }
  function preciseEnd(slot, step) {
    const k = DATA.precise_steps.indexOf(step);
    if (k < 0) return null;
    const block = blockOf(slot);
    const base = (rowOf(slot) * DATA.precise_steps.length + k) * 2;
    return [block.precise[base], block.precise[base + 1]];
  }

  // ---------- formatting ----------
  const keyOf = (axis) => (axis.part === null ? axis.name : `${axis.name}.${axis.part}`);
  const show = (v) => (v === 0 ? "0" : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? String(+v.toPrecision(6)) : v.toExponential(2));
  const approx = (v) => (Number.isFinite(v) ? +v.toPrecision(4) + "" : String(v));
  const notesNumber = (v) => (Math.abs(v) < 1e15 ? v.toFixed(6) : v.toExponential(6));
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
      if (text === null) continue;
      if (text === "off") { if (s > 0) state.slots[s] = null; continue; }
      const [alg, rest] = text.split(":");
      if (!DATA.algorithms[alg]) continue;
      const slot = { alg, idx: initialIndex(alg) };
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
      start.add(new Option(`(${p.start[0]}, ${p.start[1]})`, p.key));
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
        state.slots[s] = choose.value ? { alg: choose.value, idx: initialIndex(choose.value) } : null;
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

  // ---------- drawing helpers ----------
  function setupCanvas(canvas) {
    const ctx = canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    return ctx;
  }
  const PAD = { left: 52, right: 12, top: 12, bottom: 30 };
  function frame(ctx, canvas, xr, yr, xlabel, ylabel, ylog) {
    const w = canvas.width - PAD.left - PAD.right;
    const h = canvas.height - PAD.top - PAD.bottom;
    const sx = (x) => PAD.left + ((x - xr[0]) / (xr[1] - xr[0])) * w;
    const sy = (y) => PAD.top + h - ((y - yr[0]) / (yr[1] - yr[0] || 1)) * h;
    ctx.strokeStyle = "#888";
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD.left, PAD.top, w, h);
    ctx.fillStyle = "#333";
    ctx.font = "11px sans-serif";
    ctx.textAlign = "center";
    for (const x of ticks(xr[0], xr[1], 6)) ctx.fillText(show(x), sx(x), PAD.top + h + 13);
    ctx.fillText(xlabel, PAD.left + w / 2, PAD.top + h + 26);
    ctx.textAlign = "right";
    const yticks = ylog ? ticks(yr[0], yr[1], 5).filter((y) => Number.isInteger(y)) : ticks(yr[0], yr[1], 5);
    if (ylog && !yticks.length) yticks.push(Math.round((yr[0] + yr[1]) / 2));
    for (const y of yticks) ctx.fillText(ylog ? `1e${y}` : show(y), PAD.left - 4, sy(y) + 4);
    ctx.save();
    ctx.translate(11, PAD.top + h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText(ylabel, 0, 0);
    ctx.restore();
    return { sx, sy, w, h };
  }
  function ticks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(+v.toPrecision(12));
    return out;
  }
  function clipped(ctx, plot, draw) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(PAD.left, PAD.top, plot.w, plot.h);
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
  const active = () => state.slots.map((slot, s) => [slot, s]).filter(([slot]) => slot);

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
  function drawPaths() {
    const canvas = $("view-paths");
    const ctx = setupCanvas(canvas);
    const problem = problemsByKey[state.problem];
    const land = DATA.landscapes[problem.landscape];
    const [[a1, b1], [a2, b2]] = land.window;
    const plot = frame(ctx, canvas, [a1, b1], [a2, b2], "x1", "x2", false);
    ctx.drawImage(background(problem.landscape, Math.round(plot.w), Math.round(plot.h)), PAD.left, PAD.top, plot.w, plot.h);
    ctx.strokeRect(PAD.left, PAD.top, plot.w, plot.h);
    clipped(ctx, plot, () => {
      ctx.fillStyle = "#222";
      for (const [m1, m2] of land.minima) {
        ctx.font = "14px sans-serif";
        ctx.textAlign = "center";
        ctx.fillText("★", plot.sx(m1), plot.sy(m2) + 5);
      }
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
    // divergence marks, pinned inside the frame at the last finite point's direction
    for (const [slot, s] of active()) {
      const d = divergedAt(slot);
      if (d === null || d > state.steps) continue;
      const t = d - 1;
      const px = Math.min(PAD.left + plot.w - 4, Math.max(PAD.left + 4, plot.sx(series(slot, "x1")[t])));
      const py = Math.min(PAD.top + plot.h - 4, Math.max(PAD.top + 12, plot.sy(series(slot, "x2")[t])));
      ctx.fillStyle = COLORS[s];
      ctx.font = "bold 12px sans-serif";
      ctx.textAlign = px > PAD.left + plot.w / 2 ? "right" : "left";
      ctx.fillText(say("diverged_mark", { step: d }), px, py);
    }
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
    if (hi - lo < 1e-9) return [lo - 0.5, hi + 0.5];
    return [lo, hi + (hi - lo) * 0.05];
  }
  function robustRange(values) {
    const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
    if (!finite.length) return [0, 1];
    const lo = finite[Math.floor(finite.length * 0.02)];
    const hi = finite[Math.ceil(finite.length * 0.98) - 1];
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
    return [lo - pad, hi + pad];
  }
  function drawLoss() {
    const canvas = $("view-loss");
    const ctx = setupCanvas(canvas);
    const all = [];
    for (const [slot] of active()) {
      const f = series(slot, "f");
      for (let t = 0; t <= lastStep(slot); t++) if (f[t] > 0) all.push(f[t]);
    }
    const yr = range(all, true);
    yr[0] = Math.max(yr[0], yr[1] - 40);
    const plot = frame(ctx, canvas, [0, state.steps], yr, S.step_axis, "f(x_t)", true);
    clipped(ctx, plot, () => {
      for (const [slot, s] of active()) {
        const f = series(slot, "f");
        const xs = [];
        const ys = [];
        for (let t = 0; t <= lastStep(slot); t++) { xs.push(plot.sx(t)); ys.push(plot.sy(f[t] > 0 ? Math.log10(f[t]) : yr[0] - 1)); }
        line(ctx, xs, ys, COLORS[s]);
      }
    });
  }
  function drawRates() {
    const canvas = $("view-elr");
    const ctx = setupCanvas(canvas);
    const all = [];
    for (const [slot] of active()) {
      for (const c of ["elr1", "elr2"]) all.push(...series(slot, c).subarray(1, lastStep(slot) + 1));
    }
    const plot = frame(ctx, canvas, [0, state.steps], robustRange(all), S.step_axis, "−Δx/g", false);
    clipped(ctx, plot, () => {
      for (const [slot, s] of active()) {
        ["elr1", "elr2"].forEach((c, k) => {
          const v = series(slot, c);
          const xs = [];
          const ys = [];
          for (let t = 1; t <= lastStep(slot); t++) { xs.push(plot.sx(t)); ys.push(plot.sy(v[t])); }
          line(ctx, xs, ys, COLORS[s], k ? [5, 3] : []);
        });
      }
    });
  }
  function stateKeys(slot) {
    return blockOf(slot).channels.slice(5).filter((c) => c.endsWith("1")).map((c) => c.slice(0, -1));
  }
  function drawState() {
    const canvas = $("view-state");
    const ctx = setupCanvas(canvas);
    const slot = state.slots[state.focus];
    const keys = stateKeys(slot);
    $("state-caption").textContent = keys.length
      ? say("state_caption", { title: titleOf(slot.alg), keys: keys.join(", ") })
      : say("no_state", { title: titleOf(slot.alg) });
    if (!keys.length) return;
    const height = canvas.height / keys.length;
    keys.forEach((key, k) => {
      ctx.save();
      ctx.translate(0, k * height);
      const sub = { width: canvas.width, height };
      const v1 = series(slot, key + "1");
      const v2 = series(slot, key + "2");
      const last = lastStep(slot);
      const plot = frame(ctx, sub, [0, state.steps], robustRange([...v1.subarray(0, last + 1), ...v2.subarray(0, last + 1)]), S.step_axis, key, false);
      ctx.save();
      ctx.beginPath();
      ctx.rect(PAD.left, PAD.top, plot.w, plot.h);
      ctx.clip();
      [v1, v2].forEach((v, c) => {
        const xs = [];
        const ys = [];
        for (let t = 0; t <= last; t++) { xs.push(plot.sx(t)); ys.push(plot.sy(v[t])); }
        line(ctx, xs, ys, COLORS[state.focus], c ? [5, 3] : []);
      });
      ctx.restore();
      ctx.restore();
    });
  }

  // ---------- view: the stability / rate map ----------
  function mapAxes(slot) {
    const axes = axesOf(slot.alg);
    const x = axes.findIndex((a) => a.kind === "log");
    const y = axes.findIndex((a, i) => i !== x && a.kind === "linear");
    return { x, y };
  }
  // how far f fell: log10(f(x_T) / f(x_0)), and the per-step rate of sqrt(f), (f_T / f_0)^(1/2T)
  // (every objective here has f = 0 at its minima)
  let DECADES = 16; // the colour scale's depth: set per drawing from the deepest cell (2 to 30 decades)
  function rateOf(slot) {
    const d = divergedAt(slot);
    if (d !== null && d <= state.steps) return { diverged: d };
    const f = series(slot, "f");
    if (!(f[0] > 0)) return { rate: 0, decades: -DECADES };
    const ratio = Math.max(f[state.steps], 0) / f[0];
    return { rate: Math.pow(ratio, 1 / (2 * state.steps)), decades: ratio > 0 ? Math.log10(ratio) : -Infinity };
  }
  function color(decades) {
    if (decades > 0) return "#7f0000";
    const t = Math.max(0, Math.min(1, 1 + decades / DECADES));
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
    const ctx = setupCanvas(canvas);
    const slot = state.slots[state.focus];
    const axes = axesOf(slot.alg);
    const { x, y } = mapAxes(slot);
    const nx = x >= 0 ? axes[x].values.length : 1;
    const ny = y >= 0 ? axes[y].values.length : 1;
    const left = 52;
    const top = 10;
    const w = canvas.width - left - 70;
    const h = canvas.height - top - 34;
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
    const deepest = Math.min(...cells.map((r) => (Number.isFinite(r.decades) ? r.decades : 0)));
    DECADES = Math.max(2, Math.min(30, Math.ceil(-deepest)));
    ctx.font = "9px sans-serif";
    ctx.textAlign = "center";
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < ny; j++) {
        const r = cells[i * ny + j];
        const px = left + i * cw;
        const py = top + (ny - 1 - j) * ch;
        ctx.fillStyle = r.diverged ? "#bbb" : color(r.decades);
        ctx.fillRect(px, py, cw + 0.5, ch + 0.5);
        if (r.diverged) { ctx.fillStyle = "#555"; ctx.fillText(String(r.diverged), px + cw / 2, py + ch / 2 + 3); }
      }
    }
    // the current setting
    const cx = x >= 0 ? slot.idx[x] : 0;
    const cy = y >= 0 ? slot.idx[y] : 0;
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 3;
    ctx.strokeRect(left + cx * cw + 1.5, top + (ny - 1 - cy) * ch + 1.5, cw - 3, ch - 3);
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1;
    ctx.strokeRect(left + cx * cw + 1.5, top + (ny - 1 - cy) * ch + 1.5, cw - 3, ch - 3);
    // axes
    ctx.fillStyle = "#333";
    ctx.font = "10px sans-serif";
    if (x >= 0) axes[x].values.forEach((v, i) => { if (i % 2 === 0 || nx < 10) ctx.fillText(show(v), left + (i + 0.5) * cw, top + h + 12); });
    ctx.fillText(x >= 0 ? say("log", { label: labelOf(axes[x]) }) : "", left + w / 2, top + h + 26);
    ctx.textAlign = "right";
    if (y >= 0) axes[y].values.forEach((v, j) => ctx.fillText(show(v), left - 4, top + (ny - 1 - j + 0.5) * ch + 4));
    ctx.save();
    ctx.translate(11, top + h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText(y >= 0 ? labelOf(axes[y]) : "", 0, 0);
    ctx.restore();
    // colour bar
    for (let k = 0; k < 50; k++) { ctx.fillStyle = color(-DECADES * (1 - k / 49)); ctx.fillRect(left + w + 14, top + h - (k + 1) * (h / 50), 12, h / 50 + 0.5); }
    ctx.fillStyle = "#333";
    ctx.textAlign = "left";
    ctx.fillText("1e0", left + w + 29, top + 8);
    ctx.fillText(`1e-${DECADES}`, left + w + 29, top + h);
    ctx.fillText("f_T/f_0", left + w + 28, top + h / 2);
    drawTheoryOverlay(ctx, slot, axes, x, y, { left, top, w, h, nx, ny, cw, ch });
    const r = rateOf(slot);
    const selected = r.diverged ? say("map_diverged", { step: r.diverged }) : say("map_rate", { decades: approx(r.decades), rate: approx(r.rate) });
    $("map-caption").textContent = say("map_caption", { title: titleOf(slot.alg), steps: state.steps, selected });
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
  function drawTheoryOverlay(ctx, slot, axes, x, y, g) {
    const theory = DATA.landscapes[problemsByKey[state.problem].landscape].theory;
    const kind = DATA.algorithms[slot.alg].theory;
    if (!theory.quadratic || !kind || x < 0) return;
    ctx.save();
    ctx.beginPath();
    ctx.rect(g.left, g.top, g.w, g.h);
    ctx.clip();
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 2;
    ctx.setLineDash([6, 3]);
    if (kind === "gd" || y < 0) {
      const px = g.left + position(axes[x], theory.gd_max_lr) * g.cw;
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
        if (k) ctx.lineTo(px, py); else ctx.moveTo(px, py);
      });
      ctx.stroke();
      ctx.setLineDash([]);
      const px = g.left + position(axes[x], theory.momentum_best_lr) * g.cw;
      const py = g.top + (g.ny - position(axes[y], theory.momentum_best_beta)) * g.ch;
      ctx.fillStyle = "#fff";
      ctx.font = "16px sans-serif";
      ctx.textAlign = "center";
      ctx.fillText("✚", px, py + 6);
    }
    ctx.restore();
  }
  function clickMap(event) {
    if (!mapLayout) return;
    const canvas = $("view-map");
    const box = canvas.getBoundingClientRect();
    const mx = ((event.clientX - box.left) * canvas.width) / box.width;
    const my = ((event.clientY - box.top) * canvas.height) / box.height;
    const { x, y, nx, ny, left, top, cw, ch } = mapLayout;
    const i = Math.floor((mx - left) / cw);
    const j = ny - 1 - Math.floor((my - top) / ch);
    if (i < 0 || i >= nx || j < 0 || j >= ny) return;
    const slot = state.slots[state.focus];
    if (x >= 0) slot.idx[x] = i;
    if (y >= 0) slot.idx[y] = j;
    changed(event);
  }
  function clickPaths(event) {
    const canvas = $("view-paths");
    const box = canvas.getBoundingClientRect();
    const mx = ((event.clientX - box.left) * canvas.width) / box.width;
    const my = ((event.clientY - box.top) * canvas.height) / box.height;
    const problem = problemsByKey[state.problem];
    const [[a1, b1], [a2, b2]] = DATA.landscapes[problem.landscape].window;
    const w = canvas.width - PAD.left - PAD.right;
    const h = canvas.height - PAD.top - PAD.bottom;
    let best = null;
    let gap = 15;
    for (const p of DATA.problems.filter((q) => q.landscape === problem.landscape)) {
      const d = Math.hypot(PAD.left + ((p.start[0] - a1) / (b1 - a1)) * w - mx, PAD.top + h - ((p.start[1] - a2) / (b2 - a2)) * h - my);
      if (d < gap) { best = p; gap = d; }
    }
    if (best) { state.problem = best.key; changed(event); }
  }

  // ---------- theory numbers and the read-out ----------
  function drawTheory() {
    const theory = DATA.landscapes[problemsByKey[state.problem].landscape].theory;
    const rows = [];
    if (theory.quadratic) {
      rows.push([S.theory_kappa, show(theory.kappa)], [S.theory_eigenvalues, `${show(theory.lmin)}, ${show(theory.lmax)}`]);
      rows.push([S.theory_gd_stable, say("theory_gd_bound", { value: show(theory.gd_max_lr) })]);
      rows.push([S.theory_gd_best, `${show(theory.gd_best_lr)}, ${show(theory.gd_best_rate)}`]);
      rows.push([S.theory_momentum_best, say("theory_momentum_best_value", {
        lr: show(theory.momentum_best_lr), beta: show(theory.momentum_best_beta), rate: show(theory.momentum_best_rate) })]);
      const slot = state.slots[state.focus];
      const axes = axesOf(slot.alg);
      const b = axes.findIndex((a) => a.name === "momentum");
      if (DATA.algorithms[slot.alg].theory === "heavy_ball" && b >= 0) {
        const beta = axes[b].values[slot.idx[b]];
        const k = theory.momentum_bound.beta.findIndex((v) => Math.abs(v - beta) < 1e-12);
        if (k >= 0) rows.push([say("theory_momentum_stable", { beta: show(beta) }), show(theory.momentum_bound.lr[k])]);
      }
    } else {
      rows.push([S.theory_not_quadratic, show(theory.kappa_at_minimum)]);
      rows.push([S.theory_hessian, theory.eigenvalues.map(show).join(", ")]);
    }
    $("theory").innerHTML = rows.map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`).join("");
  }
  function drawReadout() {
    const rows = [];
    for (const [slot, s] of active()) {
      const d = divergedAt(slot);
      const step = state.steps;
      let end;
      if (d !== null && d <= step) {
        end = say("readout_diverged", { step: d });
      } else {
        const exact = preciseEnd(slot, step);
        if (exact) end = `epoch ${step}, x1 ${notesNumber(exact[0])}, x2 ${notesNumber(exact[1])}`;
        else end = `epoch ${step}, x1 ≈ ${approx(series(slot, "x1")[step])}, x2 ≈ ${approx(series(slot, "x2")[step])}`;
      }
      const last = lastStep(slot);
      const f = series(slot, "f")[last];
      const st = stateKeys(slot).map((key) => `${key} = (${approx(series(slot, key + "1")[last])}, ${approx(series(slot, key + "2")[last])})`).join("; ") || "—";
      const run = notesRun(slot);
      let notes = "";
      if (run && step === run.steps) notes = `<div class="notes">${escape(S.notes_printed)} <code>${escape(run.printed)}</code> ${escape(run.printed === end ? S.same_digits : S.differs)}</div>`;
      rows.push(`<tr id="readout-${s}"><td><span class="swatch" style="background:${COLORS[s]}"></span>${escape(titleOf(slot.alg))}</td>`
        + `<td>${escape(settingText(slot))}</td><td class="end"><code>${escape(end)}</code>${notes}</td><td>${approx(f)}</td><td class="state">${escape(st)}</td></tr>`);
    }
    const head = [S.head_optimizer, S.head_setting, say("head_end", { steps: DATA.precise_steps.join(", ") }), S.head_f, S.head_state];
    $("readout").innerHTML = `<tr>${head.map((h) => `<th>${escape(h)}</th>`).join("")}</tr>` + rows.join("");
  }

  // ---------- redraw ----------
  function redraw() {
    const t0 = performance.now();
    syncProblemControls();
    syncSlotValues();
    drawPaths();
    drawLoss();
    drawRates();
    drawState();
    drawMap();
    drawTheory();
    drawReadout();
    api.draws += 1;
    const elapsed = performance.now() - t0;
    api.timings.push(elapsed);
    return elapsed;
  }
  function changed(event) {
    redraw();
    if (event && event.timeStamp) api.inputTimings.push(performance.now() - event.timeStamp);
    const hash = toHash();
    if (host.readHash() !== hash) host.writeHash(hash);
  }
  api.state = () => JSON.parse(JSON.stringify(state));
  api.hash = toHash;
  api.redraw = redraw;
  api.selectNotes = selectNotes;
  api.mapLayout = () => mapLayout;

  decodeAll().then(() => {
    fromHash(host.readHash());
    buildProblemControls();
    buildSlots();
    $("view-map").addEventListener("click", clickMap);
    $("view-paths").addEventListener("click", clickPaths);
    host.onHash(() => { fromHash(host.readHash()); buildSlots(); redraw(); });
    changed();
    host.frame.classList.remove("loading");
    $("status").textContent = "";
    api.ready = true;
  }).catch((error) => {
    $("status").textContent = say("decode_failed", { error });
    throw error;
  });
  return api;
}

// the page's host: the state in the URL hash, the "loading" class on the body
function pageHost() {
  return {
    frame: document.body,
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

// the offline page: mount on its own document and the data it embeds (a widget imports mount instead)
const embedded = typeof document !== "undefined" && document.getElementById("explore-data");
if (embedded) {
  window.explore = mount(document, JSON.parse(embedded.textContent),
                         JSON.parse(document.getElementById("explore-strings").textContent), pageHost());
}
