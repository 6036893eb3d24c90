/**
 * One GraphQL call over HTTP: sign (when a key pair is set), POST with Node's `fetch` (which
 * keeps connections alive), read a bounded answer, and turn it into data or a typed error.
 */
import { sign } from "./apig.js";
import {
  AuthenticationError,
  LimitExceededError,
  LogbotError,
  RateLimitedError,
  RefusedError,
  ServerError,
  TransportError,
  UnavailableError,
  errorForCode,
  type ErrorDetails,
} from "./errors.js";

/** The largest answer read; a larger one is a transport error rather than unbounded memory. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface TransportOptions {
  /** The gateway (`http://host:8080`) or its GraphQL endpoint (`.../graphql`). */
  url: string;
  appKey?: string;
  appSecret?: string;
  /** Per request (default 5000). */
  timeoutMs?: number;
}

/** The GraphQL endpoint, normalized (a default port dropped, as `fetch` sends Host). */
export function graphqlUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError(`the gateway URL must start with http:// or https://, got ${JSON.stringify(url)}`);
  }
  if (parsed.pathname === "/" || parsed.pathname === "") parsed.pathname = "/graphql";
  return parsed;
}

/** `Retry-After` in milliseconds: seconds or an HTTP date. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function readBounded(response: Response): Promise<string> {
  const length = Number(response.headers.get("content-length") ?? "0");
  if (length > MAX_RESPONSE_BYTES) throw new TransportError(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes`);
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > MAX_RESPONSE_BYTES) throw new TransportError(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export class HttpTransport {
  readonly url: URL;
  readonly timeoutMs: number;
  readonly #key?: string;
  readonly #secret?: string;

  constructor(options: TransportOptions) {
    if ((options.appKey === undefined) !== (options.appSecret === undefined)) {
      throw new TypeError("appKey and appSecret go together: give both or neither");
    }
    this.url = graphqlUrl(options.url);
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.#key = options.appKey;
    this.#secret = options.appSecret;
  }

  get signed(): boolean {
    return this.#key !== undefined;
  }

  /** `headers` plus the APIG signature headers for a request to `url` (as sent: the Host the
   * HTTP library derives from `url.host`). */
  signedHeaders(method: string, url: URL, headers: Record<string, string>, body: Uint8Array | string): Record<string, string> {
    if (this.#key === undefined || this.#secret === undefined) return headers;
    const signed = sign(method, url.href, { ...headers, host: url.host }, body, this.#key, this.#secret).headers;
    delete signed.host; // fetch and ws send this Host themselves
    return signed;
  }

  /** One POST; a TransportError when no complete answer arrived. */
  async post(body: string): Promise<Answer> {
    const bytes = Buffer.from(body, "utf8");
    const headers = this.signedHeaders(
      "POST",
      this.url,
      { "Content-Type": "application/json", Accept: "application/graphql-response+json, application/json" },
      bytes,
    );
    let response: Response;
    try {
      response = await fetch(this.url, { method: "POST", headers, body: bytes, signal: AbortSignal.timeout(this.timeoutMs) });
      return { status: response.status, headers: response.headers, text: await readBounded(response) };
    } catch (error) {
      if (error instanceof LogbotError) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new TransportError(`no answer from ${this.url.href}: ${why}`, { cause: error });
    }
  }

  async execute<T = Record<string, unknown>>(query: string, variables: Record<string, unknown>): Promise<T> {
    return readAnswer(await this.post(JSON.stringify({ query, variables }))) as T;
  }
}

/** The `data` of a GraphQL answer, or the error it stands for. */
export function readAnswer(answer: Answer): Record<string, unknown> {
  const { status, headers } = answer;
  const requestId = headers.get("x-request-id") ?? undefined;
  const retryAfterMs = parseRetryAfter(headers.get("retry-after"));
  let body: any;
  try {
    body = answer.text ? JSON.parse(answer.text) : undefined;
  } catch {
    body = undefined;
  }
  if (status === 401) {
    throw new AuthenticationError(body?.error_msg ?? "the gateway refused the signature (401)", {
      code: body?.error_code ?? "UNAUTHENTICATED",
      status,
      requestId,
    });
  }
  const first = Array.isArray(body?.errors) ? body.errors[0] : undefined;
  if (first && typeof first === "object") {
    const extensions = first.extensions && typeof first.extensions === "object" ? first.extensions : {};
    const code: string | undefined = extensions.code;
    const details: ErrorDetails = { code, status, field: extensions.field, requestId: extensions.requestId ?? requestId, extensions, retryAfterMs };
    const message = String(first.message ?? "GraphQL error");
    let Class = errorForCode(code);
    if (status === 429) Class = RateLimitedError;
    else if (status === 413) Class = LimitExceededError;
    else if (status >= 500 && !(Class.prototype instanceof ServerError || Class === ServerError || Class === UnavailableError)) {
      Class = [502, 503, 504].includes(status) ? UnavailableError : ServerError;
    }
    throw new Class(message, details);
  }
  if (status === 429) throw new RateLimitedError("the gateway is rate limiting (429)", { status, requestId, retryAfterMs });
  if (status >= 500) {
    const Class = [502, 503, 504].includes(status) ? UnavailableError : ServerError;
    throw new Class(`the gateway answered ${status}`, { status, requestId, retryAfterMs });
  }
  if (status === 413) throw new LimitExceededError("the request is larger than the gateway accepts (413)", { status, requestId });
  if (status >= 400) throw new RefusedError(`the gateway refused the request (${status})`, { status, requestId });
  if (!body || typeof body.data !== "object" || body.data === null) {
    throw new TransportError(`the gateway's answer is not a GraphQL result (status ${status})`, { status });
  }
  return body.data;
}
