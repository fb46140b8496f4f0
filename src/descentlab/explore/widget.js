// descentlab explore as a Jupyter widget (anywidget). Python sends this file right after page.js, as one ES module,
// so `mount` below is page.js's own: the widget draws with the very code of the offline page.
//
// Each view puts the page's body (its header and <main id="explorer">) and page.css in a shadow root (its ids and
// styles stay inside, several explorers can share a notebook) and mounts the explorer on that <main>: page.css's
// container queries lay it out by the output cell's width (one column below 900 px), its canvases follow that width,
// and it is sized by its content: the output cell grows to the explorer's height, nothing scrolls inside it. The grids
// live once, in a shared "source" model that every explorer of the same data points to; they are parsed once per
// browser page. The view's state (the page's URL hash) is the widget's `hash` trait, so Python can set and read it.

const parsed = new WeakMap(); // source model -> {DATA, S}: parsed once, however many views show it

async function sourceModel(model, host) {
  const ref = String(model.get("source")); // "IPY_MODEL_<id>" (ipywidgets' serialization) or "anywidget:<id>"
  if (ref.startsWith("anywidget:") && host && host.getModel) return host.getModel(ref);
  return model.widget_manager.get_model(ref.replace(/^IPY_MODEL_/, ""));
}

function contents(source) {
  let found = parsed.get(source);
  if (!found) {
    found = { DATA: JSON.parse(source.get("data")), S: JSON.parse(source.get("strings")) };
    parsed.set(source, found);
  }
  return found;
}

// keys a control of the explorer uses (arrows, Home/End, Page Up/Down, typing in a select) must not reach
// JupyterLab's shortcuts, which listen on the document (arrows would move the cell selection); keys with a modifier,
// Escape and Shift+Enter still do, so the notebook's own commands keep working from inside the explorer
function keepKey(event) {
  if (event.key === "Escape" || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Enter" && event.shiftKey) return;
  event.stopPropagation();
}

async function render({ model, el, host }) {
  const source = await sourceModel(model, host);
  const { DATA, S } = contents(source);
  const box = document.createElement("div");
  box.className = "descentlab-explore";
  box.setAttribute("data-lm-suppress-shortcuts", "true"); // JupyterLab's shortcut matcher stops at this attribute
  for (const type of ["keydown", "keyup", "keypress"]) box.addEventListener(type, keepKey);
  el.appendChild(box);
  const shadow = box.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = source.get("css");
  const frame = document.createElement("div");
  frame.className = "explore-body";
  frame.lang = source.get("lang");
  frame.innerHTML = source.get("body");
  shadow.append(style, frame);
  let written = null;
  const listeners = [];
  const api = mount(frame.querySelector("#explorer"), DATA, S, {
    readHash: () => model.get("hash") || "",
    writeHash: (hash) => {
      written = hash;
      model.set("hash", hash);
      model.save_changes();
    },
    onHash: (listen) => {
      const changed = () => { if (model.get("hash") !== written) listen(); };
      model.on("change:hash", changed);
      listeners.push(changed);
    },
  });
  box.explore = api; // the page's test API (window.explore on the page), per view
  return () => {
    for (const changed of listeners) model.off("change:hash", changed);
    box.remove();
  };
}

export default { render };
