import { ApiError, gql } from "../api";
import { getToken, setToken } from "../auth";
import { h } from "../dom";
import type { PageContext } from "../main";

/** Sign in with an API token (from `peso token create`): checked against the server, then kept
 * in sessionStorage for this tab only. */
export function renderSignin(ctx: PageContext, changed: () => void): void {
  document.title = "Sign in · Peso";
  const status = h("p", { id: "signin-status", role: "status", "aria-live": "polite" });
  const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "off", required: true,
    spellcheck: "false", "aria-describedby": "token-help" });
  const form = h("form", { className: "card narrow", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in with an API token"),
    h("p", { id: "token-help", className: "muted" },
      "An administrator makes one with ", h("code", null, "peso token create --name you --role reader"),
      ". It stays in this browser tab (session storage) and is sent as the Authorization header; ",
      "readers without the pii permission see personal data masked."),
    h("label", { for: "token" }, "Token"), input,
    h("div", { className: "actions" }, h("button", { type: "submit" }, "Sign in"),
      getToken() ? h("button", { type: "button", className: "secondary", id: "signout", onclick: () => {
        setToken(null);
        status.textContent = "Signed out: you browse anonymously now.";
        changed();
      } }, "Sign out") : null),
    status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    const previous = getToken();
    setToken(token);
    status.textContent = "Checking the token…";
    try {
      await gql<{ __typename: string }>("{ __typename }", {}, ctx.signal);
      status.textContent = "Signed in. Every page now reads with this token.";
      status.className = "ok-text";
      changed();
    } catch (err) {
      setToken(previous);
      status.className = "error-text";
      status.textContent = err instanceof ApiError && err.status === 401
        ? "The server refused this token: it is wrong, revoked or expired."
        : `Could not check the token: ${(err as Error).message}`;
    }
  });
  ctx.main.appendChild(form);
  input.focus();
}
