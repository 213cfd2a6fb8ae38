// The lineage drawing: SVG, one <g> per box, every pan and zoom a single transform on one
// group (the browser composites it: no re-layout, no stutter at 1,000 boxes). Labels are
// dropped when zoomed far out, where they would only be noise.
import { s } from "../dom";
import type { View, VisNode } from "./graph";
import type { LayoutResult } from "./layout.worker";

export const SIZE = {
  dataset: { width: 190, height: 38 },
  group: { width: 210, height: 48 },
};
const LABEL_MAX = 26;
const FAR = 0.45;
const READABLE = 0.35;
const READABLE_ZOOM = 0.75;

export interface Handlers {
  select(id: string): void;
  activate(id: string): void;
}

function short(text: string, max = LABEL_MAX): string {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

export class GraphCanvas {
  readonly svg: SVGSVGElement;
  private viewport: SVGGElement;
  private boxes = new Map<string, SVGGElement>();
  private lines = new Map<string, SVGPathElement>();
  private t = { x: 0, y: 0, k: 1 };
  private size = { width: 0, height: 0 };
  private frame = 0;

  constructor(private handlers: Handlers, label: string) {
    this.svg = s("svg", { class: "lineage-svg", tabindex: 0, role: "group", "aria-label": label,
                          "aria-roledescription": "lineage graph" });
    const defs = s("defs");
    for (const [id, cls] of [["arrow", "arrow"], ["arrow-hi", "arrow hi"]] as const) {
      const marker = s("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
                                   orient: "auto-start-reverse" });
      marker.appendChild(s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: cls }));
      defs.appendChild(marker);
    }
    this.svg.appendChild(defs);
    this.viewport = s("g", { class: "viewport" });
    this.svg.appendChild(this.viewport);
    this.bindPanZoom();
  }

  draw(view: View, layout: LayoutResult): void {
    const edgeLayer = s("g", { class: "edges" });
    const nodeLayer = s("g", { class: "nodes" });
    this.boxes.clear();
    this.lines.clear();
    for (const e of view.edges) {
      const pts = layout.edges[e.id];
      if (!pts?.length) continue;
      const d = "M" + pts.map((p) => `${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(" L");
      const path = s("path", { d, class: "edge", "marker-end": "url(#arrow)", "data-from": e.from, "data-to": e.to });
      if (e.count > 1) path.setAttribute("stroke-width", String(Math.min(1.2 + Math.log2(e.count), 5)));
      edgeLayer.appendChild(path);
      this.lines.set(e.id, path);
    }
    for (const n of view.nodes) {
      const pos = layout.nodes[n.id];
      if (!pos) continue;
      nodeLayer.appendChild(this.box(n, pos.x, pos.y));
    }
    this.viewport.replaceChildren(edgeLayer, nodeLayer);
    this.size = { width: layout.width, height: layout.height };
  }

  private box(n: VisNode, x: number, y: number): SVGGElement {
    const { width, height } = SIZE[n.kind];
    const g = s("g", {
      class: `node ${n.kind} layer-${n.layer.toLowerCase()}${n.start ? " start" : ""}`,
      transform: `translate(${(x - width / 2).toFixed(1)},${(y - height / 2).toFixed(1)})`,
      tabindex: 0, role: "button", "data-id": n.id,
      "aria-label": n.kind === "group"
        ? `Group ${n.label}, ${n.sub}. Enter expands it.`
        : `Dataset ${n.sub}/${n.label}${n.start ? " (the start)" : ""}. Enter focuses it.`,
    });
    const title = s("title");
    title.textContent = n.kind === "group" ? `${n.label} (${n.sub}): click to focus, double-click or Enter to expand`
      : `${n.sub}/${n.label}`;
    g.appendChild(title);
    g.appendChild(s("rect", { width, height, rx: n.kind === "group" ? 10 : 5 }));
    if (n.kind === "group") {
      g.appendChild(s("rect", { class: "stack", x: 4, y: -4, width: width - 8, height: 4, rx: 2 }));
    }
    const label = s("text", { x: 10, y: 16, class: "label" });
    label.textContent = short(n.label);
    const sub = s("text", { x: 10, y: n.kind === "group" ? 34 : 30, class: "sub" });
    sub.textContent = short(n.kind === "group" ? `${n.sub} · expand +` : n.sub, 32);
    g.append(label, sub);
    this.boxes.set(n.id, g);
    return g;
  }

  /** Mark boxes and edges: focus, its upstream and downstream, search matches, column hits. */
  highlight(focus: string | null, up: Set<string>, down: Set<string>, matched: Set<string>, columns: Set<string>): void {
    const lit = focus !== null;
    for (const [id, g] of this.boxes) {
      g.classList.toggle("focus", id === focus);
      g.classList.toggle("up", up.has(id));
      g.classList.toggle("down", down.has(id));
      g.classList.toggle("dim", lit && id !== focus && !up.has(id) && !down.has(id));
      g.classList.toggle("match", matched.has(id));
      g.classList.toggle("col", columns.has(id));
    }
    for (const path of this.lines.values()) {
      const from = path.dataset.from!;
      const to = path.dataset.to!;
      const onUp = (up.has(from) || from === focus) && (up.has(to) || to === focus);
      const onDown = (down.has(from) || from === focus) && (down.has(to) || to === focus);
      path.classList.toggle("hi", lit && (onUp || onDown));
      path.classList.toggle("dim", lit && !onUp && !onDown);
      path.setAttribute("marker-end", lit && (onUp || onDown) ? "url(#arrow-hi)" : "url(#arrow)");
    }
  }

  boxOf(id: string): SVGGElement | undefined {
    return this.boxes.get(id);
  }

  fit(): void {
    const rect = this.svg.getBoundingClientRect();
    if (!rect.width || !this.size.width) return;
    const k = Math.min(rect.width / this.size.width, rect.height / this.size.height, 1.5);
    this.t = { k, x: (rect.width - this.size.width * k) / 2, y: (rect.height - this.size.height * k) / 2 };
    this.apply();
  }

  /** The whole graph if it stays readable that small, else `id` at a readable zoom
   * (a 1,000-box graph fitted whole is a smear; its start is where a reader begins). */
  fitOrCenter(id: string): void {
    this.fit();
    if (this.t.k < READABLE && this.boxes.has(id)) this.center(id, READABLE_ZOOM);
  }

  /** Bring box `id` to the middle at a readable zoom. */
  center(id: string, zoom?: number): void {
    const g = this.boxes.get(id);
    if (!g) return;
    const m = /translate\(([-\d.]+),([-\d.]+)\)/.exec(g.getAttribute("transform") ?? "");
    if (!m) return;
    const rect = this.svg.getBoundingClientRect();
    const k = zoom ?? Math.max(this.t.k, 0.8);
    const cx = Number(m[1]) + SIZE.dataset.width / 2;
    const cy = Number(m[2]) + SIZE.dataset.height / 2;
    this.t = { k, x: rect.width / 2 - cx * k, y: rect.height / 2 - cy * k };
    this.apply();
  }

  zoom(factor: number, cx?: number, cy?: number): void {
    const rect = this.svg.getBoundingClientRect();
    const px = cx ?? rect.width / 2;
    const py = cy ?? rect.height / 2;
    const k = Math.min(4, Math.max(0.05, this.t.k * factor));
    this.t = { k, x: px - ((px - this.t.x) * k) / this.t.k, y: py - ((py - this.t.y) * k) / this.t.k };
    this.apply();
  }

  pan(dx: number, dy: number): void {
    this.t = { ...this.t, x: this.t.x + dx, y: this.t.y + dy };
    this.apply();
  }

  private apply(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.viewport.setAttribute("transform", `translate(${this.t.x.toFixed(1)},${this.t.y.toFixed(1)}) scale(${this.t.k.toFixed(4)})`);
      this.svg.classList.toggle("far", this.t.k < FAR);
    });
  }

  private bindPanZoom(): void {
    let drag: { x: number; y: number; moved: boolean } | null = null;
    this.svg.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const rect = this.svg.getBoundingClientRect();
      this.zoom(Math.exp(-ev.deltaY * 0.0015), ev.clientX - rect.left, ev.clientY - rect.top);
    }, { passive: false });
    this.svg.addEventListener("pointerdown", (ev) => {
      if ((ev.target as Element).closest(".node")) return;
      drag = { x: ev.clientX, y: ev.clientY, moved: false };
      this.svg.setPointerCapture(ev.pointerId);
      this.svg.classList.add("dragging");
    });
    this.svg.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      this.pan(ev.clientX - drag.x, ev.clientY - drag.y);
      drag = { x: ev.clientX, y: ev.clientY, moved: true };
    });
    const end = () => { drag = null; this.svg.classList.remove("dragging"); };
    this.svg.addEventListener("pointerup", end);
    this.svg.addEventListener("pointercancel", end);
    this.svg.addEventListener("click", (ev) => {
      const node = (ev.target as Element).closest<SVGGElement>(".node");
      if (node?.dataset.id) this.handlers.select(node.dataset.id);
    });
    this.svg.addEventListener("dblclick", (ev) => {
      const node = (ev.target as Element).closest<SVGGElement>(".node");
      if (node?.dataset.id) this.handlers.activate(node.dataset.id);
    });
    this.svg.addEventListener("keydown", (ev) => {
      const node = (ev.target as Element).closest<SVGGElement>(".node");
      const step = 60;
      switch (ev.key) {
        case "Enter":
        case " ":
          if (node?.dataset.id) {
            ev.preventDefault();
            if (node.classList.contains("group")) this.handlers.activate(node.dataset.id);
            else this.handlers.select(node.dataset.id);
          }
          return;
        case "+": case "=": this.zoom(1.25); break;
        case "-": case "_": this.zoom(0.8); break;
        case "0": this.fit(); break;
        case "ArrowLeft": this.pan(step, 0); break;
        case "ArrowRight": this.pan(-step, 0); break;
        case "ArrowUp": this.pan(0, step); break;
        case "ArrowDown": this.pan(0, -step); break;
        default: return;
      }
      ev.preventDefault();
    });
  }
}
