// Dark or light: the system's preference by default (CSS prefers-color-scheme), or the one
// chosen with the toggle (kept in localStorage: a display preference, not a secret).
const KEY = "peso.theme";
type Theme = "system" | "light" | "dark";
const ORDER: Theme[] = ["system", "light", "dark"];

function stored(): Theme {
  try {
    const v = localStorage.getItem(KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

function apply(theme: Theme, button: HTMLButtonElement | null): void {
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  if (button) {
    button.textContent = `Theme: ${theme}`;
    button.setAttribute("aria-label", `Colour theme: ${theme}. Press to change.`);
  }
}

export function initTheme(button: HTMLButtonElement | null): void {
  let theme = stored();
  apply(theme, button);
  button?.addEventListener("click", () => {
    theme = ORDER[(ORDER.indexOf(theme) + 1) % ORDER.length];
    try { localStorage.setItem(KEY, theme); } catch { /* storage off: this page only */ }
    apply(theme, button);
  });
}
