// The Argo Server REST API as the page uses it: JSON calls with the session's
// token, errors turned into ApiError with the server's own message, and
// watch/log streams read line by line (NDJSON) from fetch, because EventSource
// cannot send an Authorization header.

const TOKEN_KEY = "conveyor.token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const h = { Accept: "application/json", ...extra };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

async function failure(res) {
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON: use the status line */ }
  const message = body?.message || body?.error?.message || `${res.status} ${res.statusText || "error"}`;
  return new ApiError(res.status, body?.code, message);
}

export async function call(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, 14, `cannot reach the conveyor server (${err.message}); is it still running?`);
  }
  if (!res.ok) throw await failure(res);
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

export const get = (path) => call("GET", path);
export const put = (path, body = {}) => call("PUT", path, body);
export const post = (path, body = {}) => call("POST", path, body);
export const del = (path) => call("DELETE", path);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

// Read a stream of `{"result": ...}` lines, calling onResult for each, until it
// ends or `signal` aborts. A `{"error": ...}` line (an error after the stream
// started) is thrown as an ApiError.
export async function stream(path, onResult, signal) {
  let res;
  try {
    res = await fetch(path, { headers: headers(), signal });
  } catch (err) {
    if (signal?.aborted) return;
    throw new ApiError(0, 14, `cannot reach the conveyor server (${err.message})`);
  }
  if (!res.ok) throw await failure(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        const obj = JSON.parse(line);
        if (obj.error) throw new ApiError(obj.error.http_code, obj.error.grpc_code, obj.error.message);
        if (obj.result) onResult(obj.result);
      }
    }
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  }
}

// Keep a stream open: reconnect after it ends or fails (1 s, then up to 10 s
// apart), until `signal` aborts. onError is told of each failure.
export async function follow(pathFn, onResult, signal, onError) {
  let wait = 1000;
  while (!signal.aborted) {
    try {
      await stream(pathFn(), onResult, signal);
      wait = 1000;
    } catch (err) {
      if (signal.aborted) return;
      onError?.(err);
      if (err.status === 401 || err.status === 403 || err.status === 404) return;
      wait = Math.min(wait * 2, 10000);
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}
