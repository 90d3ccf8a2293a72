// A chart widget's `data` ({labels: [...], values: [...]}) drawn as plain SVG: bars or a line,
// with a light grid and the values' scale on the left.
import { svg } from "./ui.js";

// Axis ticks: a round step (1, 2 or 5 times a power of ten) giving about four intervals.
function scale(value) {
  if (value <= 0) return { top: 1, step: 0.25 };
  const rough = value / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough);
  return { top: Math.ceil(value / step) * step, step };
}

export function drawChart(widget) {
  const labels = Array.isArray(widget.data.labels) ? widget.data.labels.map(String) : [];
  const values = Array.isArray(widget.data.values) ? widget.data.values.map((v) => Number(v) || 0) : [];
  const kind = widget.config.kind === "line" ? "line" : "bar";
  const color = /^#[0-9a-fA-F]{3,8}$/.test(widget.config.color || "") ? widget.config.color : "#4f46e5";
  const W = 400;
  const H = 220;
  const pad = { l: 36, r: 10, t: 10, b: 26 };
  const { top: max, step } = scale(Math.max(0, ...values));
  const n = Math.max(values.length, 1);
  const cw = (W - pad.l - pad.r) / n;
  const y = (v) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const parts = [];
  for (let i = 0; i * step <= max + step / 1e6; i += 1) {
    const v = step * i;
    parts.push(svg("line", { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: "grid" }));
    parts.push(svg("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, String(+v.toFixed(2))));
  }
  values.forEach((v, i) => {
    const x = pad.l + cw * i;
    if (kind === "bar") {
      const top = y(Math.max(v, 0));
      parts.push(
        svg("rect", { x: x + cw * 0.18, y: top, width: cw * 0.64, height: Math.max(0, H - pad.b - top), rx: 3, fill: color },
          svg("title", {}, `${labels[i] ?? ""}: ${v}`)),
      );
    }
    parts.push(svg("text", { x: x + cw / 2, y: H - 8, "text-anchor": "middle", class: "axis" }, labels[i] ?? ""));
  });
  if (kind === "line" && values.length) {
    const points = values.map((v, i) => `${pad.l + cw * i + cw / 2},${y(v)}`).join(" ");
    parts.push(svg("polyline", { points, fill: "none", stroke: color, "stroke-width": 2.5, "stroke-linejoin": "round" }));
    values.forEach((v, i) =>
      parts.push(svg("circle", { cx: pad.l + cw * i + cw / 2, cy: y(v), r: 3.5, fill: color }, svg("title", {}, `${labels[i] ?? ""}: ${v}`))),
    );
  }
  return svg(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": `${kind} chart of ${values.length} values`, preserveAspectRatio: "none" },
    parts,
  );
}
