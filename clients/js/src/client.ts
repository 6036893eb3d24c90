/**
 * `createClient`: the gateway's log operations as methods over one signed HTTP transport, and
 * live records over graphql-transport-ws (the `graphql-ws` package on `ws`).
 */
import { randomUUID } from "node:crypto";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import WebSocket from "ws";
import { AuthenticationError, LogbotError, SubscriptionClosed, TransientError, TransportError, errorForCode } from "./errors.js";
import { formatTime, levelName, toInput, type Level, type LogSource, type RecordInput } from "./records.js";
import { SEND_LOGS } from "./sender.js";
import { HttpTransport, type TransportOptions } from "./transport.js";

const RECORD_FIELDS =
  "id bot level message eventAt receivedAt requestId statusCode " +
  "source { userName pid processName processDescription } attributes";
const LOGS =
  "query Logs($filter: LogFilter!, $first: Int!, $after: String) { logs(filter: $filter, first: $first, after: $after) " +
  `{ totalCount pageInfo { hasNextPage endCursor } edges { node { ${RECORD_FIELDS} } } } }`;
const LOG_ADDED =
  "subscription LogAdded($bot: String!, $minLevel: LogLevel) { logAdded(bot: $bot, minLevel: $minLevel) " +
  `{ ${RECORD_FIELDS} } }`;

/** A record as the gateway stored it. */
export interface StoredLog {
  id: string;
  bot: string;
  level: Level;
  message: string;
  eventAt: Date;
  receivedAt: Date;
  requestId: string | null;
  statusCode: number | null;
  source: LogSource;
  attributes: Record<string, unknown> | null;
}

/** One page of `logs`, newest first; pass `endCursor` as `after` for the next. */
export interface LogPage {
  records: StoredLog[];
  hasNextPage: boolean;
  endCursor: string | null;
  totalCount: number;
}

export interface LogsQuery {
  bot: string;
  /** Only records at this level or above. */
  minLevel?: RecordInput["level"];
  /** Only records whose eventAt is at or after this time. */
  from?: Date | number | string;
  /** Only records whose eventAt is before this time. */
  to?: Date | number | string;
  requestId?: string;
  /** Only records whose message contains this text (case-sensitive). */
  contains?: string;
  /** Page size, 1-500 (default 50). */
  first?: number;
  after?: string;
}

export interface ClientOptions extends TransportOptions {
  /** Retries of a transient failure in sendLogs (same idempotency key; default 2). */
  retries?: number;
  /** Reconnections of the subscriptions' WebSocket before giving up (default 5); a 4xx
   * answer to the upgrade (a refused signature) is not retried. */
  subscribeRetryAttempts?: number;
}

export interface LogbotClient {
  readonly url: string;
  /** Runs any GraphQL document once; its `data`. */
  execute<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Stores a batch atomically; the ids, in order. The idempotency key (given, or chosen here)
   * is the same on every retry, so the batch is stored once. */
  sendLogs(bot: string, records: RecordInput[], options?: { idempotencyKey?: string }): Promise<string[]>;
  sendLog(bot: string, level: RecordInput["level"], message: string, fields?: Omit<RecordInput, "level" | "message">): Promise<string>;
  logs(query: LogsQuery): Promise<LogPage>;
  /** Every matching record, newest first, page after page. */
  iterLogs(query: LogsQuery): AsyncGenerator<StoredLog>;
  /** Records committed for `bot` from now on; returns the function that unsubscribes.
   * `onError` gets a typed error when the subscription fails for good. */
  subscribe(
    options: { bot: string; minLevel?: RecordInput["level"] },
    onRecord: (record: StoredLog) => void,
    onError?: (error: LogbotError) => void,
  ): () => void;
  /** Closes the WebSocket, if one was opened. */
  close(): Promise<void>;
}

function stored(node: any): StoredLog {
  const source: LogSource = {};
  for (const [key, value] of Object.entries(node.source ?? {})) if (value !== null) (source as any)[key] = value;
  return {
    id: node.id,
    bot: node.bot,
    level: node.level,
    message: node.message,
    eventAt: new Date(node.eventAt),
    receivedAt: new Date(node.receivedAt),
    requestId: node.requestId ?? null,
    statusCode: node.statusCode ?? null,
    source,
    attributes: node.attributes ?? null,
  };
}

function graphqlError(errors: any, fallback: string): LogbotError {
  const list = Array.isArray(errors) ? errors : [errors];
  const first = list[0] && typeof list[0] === "object" ? list[0] : {};
  const extensions = first.extensions && typeof first.extensions === "object" ? first.extensions : {};
  const Class = errorForCode(extensions.code);
  return new Class(String(first.message ?? fallback), { code: extensions.code, field: extensions.field, extensions });
}

class Client implements LogbotClient {
  readonly #transport: HttpTransport;
  readonly #retries: number;
  readonly #retryAttempts: number;
  #ws?: WsClient;
  /** The HTTP status of the last refused WebSocket upgrade. */
  #upgradeStatus?: number;

  constructor(options: ClientOptions) {
    this.#transport = new HttpTransport(options);
    this.#retries = options.retries ?? 2;
    this.#retryAttempts = options.subscribeRetryAttempts ?? 5;
  }

  get url(): string {
    return this.#transport.url.href;
  }

  execute<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    return this.#transport.execute<T>(query, variables);
  }

  async sendLogs(bot: string, records: RecordInput[], options: { idempotencyKey?: string } = {}): Promise<string[]> {
    const inputs = records.map(toInput);
    const key = options.idempotencyKey ?? randomUUID();
    for (let attempt = 0; ; attempt++) {
      try {
        const data = await this.execute<{ sendLogs: { ids: string[] } }>(SEND_LOGS, { bot, records: inputs, key });
        return data.sendLogs.ids;
      } catch (error) {
        if (!(error instanceof TransientError) || attempt >= this.#retries) throw error;
        const delay = Math.max(Math.random() * Math.min(5000, 200 * 2 ** (attempt + 1)), error.retryAfterMs ?? 0);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async sendLog(bot: string, level: RecordInput["level"], message: string, fields: Omit<RecordInput, "level" | "message"> = {}): Promise<string> {
    const [id] = await this.sendLogs(bot, [{ ...fields, level, message }]);
    return id;
  }

  async logs(query: LogsQuery): Promise<LogPage> {
    const filter: Record<string, unknown> = { bot: query.bot };
    if (query.minLevel !== undefined) filter.minLevel = levelName(query.minLevel);
    if (query.from !== undefined) filter.from = formatTime(query.from);
    if (query.to !== undefined) filter.to = formatTime(query.to);
    if (query.requestId !== undefined) filter.requestId = query.requestId;
    if (query.contains !== undefined) filter.contains = query.contains;
    const data = await this.execute<{ logs: any }>(LOGS, { filter, first: query.first ?? 50, after: query.after ?? null });
    return {
      records: data.logs.edges.map((edge: any) => stored(edge.node)),
      hasNextPage: Boolean(data.logs.pageInfo.hasNextPage),
      endCursor: data.logs.pageInfo.endCursor ?? null,
      totalCount: Number(data.logs.totalCount),
    };
  }

  async *iterLogs(query: LogsQuery): AsyncGenerator<StoredLog> {
    let after = query.after;
    for (;;) {
      const page = await this.logs({ ...query, first: query.first ?? 100, after });
      yield* page.records;
      if (!page.hasNextPage || !page.endCursor) return;
      after = page.endCursor;
    }
  }

  #socket(): WsClient {
    if (this.#ws) return this.#ws;
    const url = new URL(this.#transport.url.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const transport = this.#transport;
    const refused = (status: number) => (this.#upgradeStatus = status);
    // The upgrade request is signed like any other (a fresh X-Sdk-Date on each reconnect).
    class SignedWebSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols, { headers: transport.signedHeaders("GET", url, {}, "") });
        this.on("error", (error: Error) => {
          const status = /Unexpected server response: (\d+)/.exec(error.message);
          if (status) refused(Number(status[1]));
        });
        this.on("open", () => refused(0));
      }
    }
    this.#ws = createWsClient({
      url: url.href,
      webSocketImpl: SignedWebSocket,
      lazy: true,
      retryAttempts: this.#retryAttempts,
      shouldRetry: () => !(this.#upgradeStatus !== undefined && this.#upgradeStatus >= 400 && this.#upgradeStatus < 500),
    });
    return this.#ws;
  }

  subscribe(
    options: { bot: string; minLevel?: RecordInput["level"] },
    onRecord: (record: StoredLog) => void,
    onError: (error: LogbotError) => void = (error) => process.emitWarning(`logbot: subscription failed: ${error.message}`, "LogbotWarning"),
  ): () => void {
    const variables = { bot: options.bot, minLevel: options.minLevel === undefined ? null : levelName(options.minLevel) };
    return this.#socket().subscribe<{ logAdded: unknown }>(
      { query: LOG_ADDED, variables },
      {
        next: (result) => {
          if (result.errors?.length) onError(graphqlError(result.errors, "the subscription failed"));
          else if (result.data?.logAdded) onRecord(stored(result.data.logAdded));
        },
        error: (error: any) => {
          const status = this.#upgradeStatus;
          if (Array.isArray(error)) onError(graphqlError(error, "the gateway refused the subscription"));
          else if (status === 401) {
            onError(new AuthenticationError("the gateway refused the WebSocket's signature (401)", { status, code: "UNAUTHENTICATED" }));
          } else if (status !== undefined && status >= 400) {
            onError(new SubscriptionClosed(`the gateway refused the WebSocket upgrade (${status})`, { status }));
          } else if (error && typeof error.code === "number") {
            onError(new SubscriptionClosed(`the gateway closed the WebSocket (${error.code} ${error.reason ?? ""})`, { status: error.code }));
          } else onError(new TransportError(`the subscription's WebSocket failed: ${String(error?.message ?? error)}`, { cause: error }));
        },
        complete: () => {},
      },
    );
  }

  async close(): Promise<void> {
    await this.#ws?.dispose();
    this.#ws = undefined;
  }
}

/** A client of the gateway at `url` (signed when `appKey`/`appSecret` are given). */
export function createClient(options: ClientOptions): LogbotClient {
  return new Client(options);
}
