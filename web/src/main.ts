import "./styles.css";
import { ApiError } from "./api";
import { getToken } from "./auth";
import { clear, h } from "./dom";
import { renderDataset } from "./pages/dataset";
import { renderHome } from "./pages/home";
import { renderLineage } from "./pages/lineage";
import { renderSignin } from "./pages/signin";
import { parseHash, type Route } from "./router";
import { initTheme } from "./theme";

const main = document.getElementById("main") as HTMLElement;
const notices = document.getElementById("notices") as HTMLElement;
let current: AbortController | null = null;
let lastPage = "";

/** A page renders into `main`; it may keep state across hash changes of the same page. */
export interface PageContext {
  main: HTMLElement;
  signal: AbortSignal;
  route: Route;
}

export function notice(message: string, kind: "error" | "info" = "error"): void {
  clear(notices);
  if (!message) return;
  const box = h("div", { className: `notice ${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", null, message),
    kind === "error" && /token|sign in/i.test(message)
      ? h("a", { href: "#/signin", className: "notice-link" }, "Sign in") : null,
    h("button", { type: "button", className: "ghost", "aria-label": "Dismiss",
                  onclick: () => clear(notices) }, "×"));
  notices.appendChild(box);
}

function updateNav(route: Route): void {
  const link = document.getElementById("signin-link");
  if (link) link.textContent = getToken() ? "Token (signed in)" : "Sign in";
  for (const a of document.querySelectorAll<HTMLAnchorElement>("[data-nav]")) {
    const on = (a.dataset.nav === "home" && (route.page === "" || route.page === "dataset" || route.page === "lineage"))
      || a.dataset.nav === route.page;
    if (on) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function render(): Promise<void> {
  const route = parseHash();
  const samePage = route.page === lastPage && route.page === "lineage";
  updateNav(route);
  if (samePage && window.__pesoLineageUpdate?.(route)) return; // lineage: state changes in place
  current?.abort();
  current = new AbortController();
  lastPage = route.page;
  clear(notices);
  const ctx: PageContext = { main, signal: current.signal, route };
  clear(main);
  try {
    switch (route.page) {
      case "":
        await renderHome(ctx);
        break;
      case "dataset":
        await renderDataset(ctx);
        break;
      case "lineage":
        await renderLineage(ctx);
        break;
      case "signin":
        renderSignin(ctx, () => updateNav(parseHash()));
        break;
      default:
        document.title = "Not found · Peso";
        main.appendChild(h("section", null, h("h1", null, "Page not found"),
          h("p", null, "No page at ", h("code", null, location.hash), ". ", h("a", { href: "#/" }, "Back to the catalog"))));
    }
  } catch (err) {
    if ((err as Error).name === "AbortError") return;
    notice(err instanceof ApiError ? err.message : `Something went wrong: ${(err as Error).message}`);
    if (!main.firstChild) main.appendChild(h("p", { className: "muted" }, "This page could not be shown."));
  }
}

declare global {
  interface Window {
    __pesoLineageUpdate?: (route: Route) => boolean;
  }
}

initTheme(document.getElementById("theme-toggle") as HTMLButtonElement | null);
window.addEventListener("hashchange", () => { void render(); });
void render();
