// Every read goes through Peso's GraphQL API, with the signed-in token. What a token may not
// read comes back as a GraphQL error (or as '***' for masked personal data) and is shown as such.
import { getToken } from "./auth";

export interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown>;
}

export interface GqlResult<T> {
  data: T | null;
  errors: GqlError[];
}

/** The request failed as a whole: a refused token (401), a missing role (403), a 4xx/5xx. */
export class ApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {},
                             signal?: AbortSignal): Promise<GqlResult<T>> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "application/graphql-response+json, application/json",
  };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST", headers, body: JSON.stringify({ query, variables }), signal,
      credentials: "omit",
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(`the Peso server did not answer (${(err as Error).message})`, 0);
  }
  let body: { data?: T | null; errors?: GqlError[] } | null = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const errors = body?.errors ?? [];
  if (response.status === 401) {
    throw new ApiError(token
      ? `the server refused your token: ${errors[0]?.message ?? "invalid, revoked or expired"}. Sign in again.`
      : `this server needs an API token: ${errors[0]?.message ?? "sign in"}`, 401);
  }
  if (response.status === 403) {
    throw new ApiError(`your token may not do this: ${errors[0]?.message ?? "forbidden"}`, 403);
  }
  if (!body || (body.data === undefined && errors.length)) {
    throw new ApiError(errors.map((e) => e.message).join("; ") || `HTTP ${response.status}`,
                       response.status);
  }
  return { data: body.data ?? null, errors };
}

/** Errors as sentences naming the field they are about. */
export function describeErrors(errors: GqlError[]): string[] {
  return errors.map((e) => (e.path?.length ? `${e.path.join(".")}: ` : "") + e.message);
}
