import { describeErrors, type GqlError } from "../api";
import { h } from "../dom";

export const LAYERS = ["RAW", "CURATED", "EXTERNAL"] as const;
export const ENTITY_KINDS = ["PERSON", "CUSTOMER", "AUDIENCE", "ORGANIZATION", "BRAND", "PRODUCT",
  "DEVICE", "BOT", "AI_AGENT", "CHANNEL", "CAMPAIGN"] as const;

export function layerBadge(layer: string): HTMLElement {
  return h("span", { className: `badge layer-${layer.toLowerCase()}`, title: `Layer: ${layer}` }, layer.toLowerCase());
}

export function piiBadge(): HTMLElement {
  return h("span", { className: "badge pii", title: "This column holds personal data" }, "PII");
}

/** Partial answers: what the token may not read is said, the rest is shown. */
export function errorList(errors: GqlError[]): HTMLElement | null {
  if (!errors.length) return null;
  return h("div", { className: "notice error", role: "alert" },
    h("p", null, "Some of this page could not be read:"),
    h("ul", null, describeErrors(errors).map((m) => h("li", null, m))));
}

export function section(title: string, id: string, ...body: (Node | string | null)[]): HTMLElement {
  return h("section", { className: "card", "aria-labelledby": id }, h("h2", { id }, title), ...body);
}

export function select(label: string, name: string, options: [string, string][], value: string): HTMLElement {
  const id = `f-${name}`;
  const sel = h("select", { id, name },
    h("option", { value: "" }, "Any"),
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
  return h("div", { className: "facet" }, h("label", { for: id }, label), sel);
}
