// The API token lives in sessionStorage: it is gone when the tab closes, and other sites
// cannot read it. It is sent as `Authorization: Bearer …`, never put in a URL.
const KEY = "peso.token";

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: anonymous
  }
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}
