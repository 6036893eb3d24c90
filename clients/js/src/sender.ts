/**
 * `createSender`: a bounded queue the application appends to without waiting, sent in batches
 * in the background. The same guarantees as the Python handler:
 *
 * - `send()`/`log()` never wait and never throw for the network; a full queue drops the new
 *   record and counts it (`stats.dropped`), with a warning.
 * - Each batch gets an idempotency key when it is cut from the queue and keeps it on every
 *   retry, so a retry after a lost answer replays the stored result instead of storing again.
 * - Transport errors, 5xx, 429 (after `Retry-After`) and "unavailable"/"busy" answers are
 *   retried with exponential backoff and full jitter while the sender is open; an internal
 *   server error `maxServerErrorAttempts` times.
 * - A refusal (4xx) is reported once (`onError`, or a rate-limited process warning) and the
 *   sender goes on with the next batch; a refusal naming one record drops only that record; a
 *   batch over the gateway's body limit (413) is split.
 * - `flush()` sends now and waits; `close()` drains within a timeout; when the event loop
 *   runs dry (`beforeExit`) what is queued is sent before the process exits.
 *
 * Timers are unref'd: a sender never keeps a process alive by itself.
 */
import { randomUUID } from "node:crypto";
import { basename } from "node:path";
import { LimitExceededError, LogbotError, RefusedError, ServerError, TransientError } from "./errors.js";
import { fit, toInput, type FitLimits, type LogRecordInput, type LogSource, type RecordInput } from "./records.js";
import { HttpTransport, readAnswer, type TransportOptions } from "./transport.js";

export const SEND_LOGS =
  "mutation SendLogs($bot: String!, $records: [LogRecordInput!]!, $key: String) " +
  "{ sendLogs(bot: $bot, records: $records, idempotencyKey: $key) { accepted ids } }";
const RECORD_FIELD = /^records\[(\d+)\]/;
/** The gateway takes idempotency keys of up to 200 characters; derived keys stay below. */
const MAX_KEY = 160;

export type ErrorCallback = (error: LogbotError, count: number) => void;

export interface SenderOptions extends TransportOptions, FitLimits {
  bot: string;
  /** Records per request (1-1000; default 100). */
  batchSize?: number;
  /** How long a record may wait for a batch to fill (default 1000 ms). */
  flushIntervalMs?: number;
  /** Records held at most; more are dropped and counted (default 10000). */
  maxQueue?: number;
  /** Largest request body (default 512 KiB, below the gateway's 1 MiB). */
  maxBatchBytes?: number;
  retryBaseMs?: number;
  retryCapMs?: number;
  maxServerErrorAttempts?: number;
  /** Send what is queued when the event loop runs dry (default true). */
  flushOnExit?: boolean;
  /** Default timeout of flush() and close() and of the flush on exit (default 10000 ms). */
  flushTimeoutMs?: number;
  /** Called for every refused batch; without it each kind of failure is a process warning,
   * at most once a minute. */
  onError?: ErrorCallback;
  /** Source fields every record gets unless it has its own (over the defaults: the pid and the
   * script's name). */
  source?: LogSource;
}

export interface SenderStats {
  /** Records the gateway stored. */
  sent: number;
  /** Records not queued: the queue was full, or the sender closed. */
  dropped: number;
  /** Records refused, or given up after repeated server faults. */
  failed: number;
  /** Records still unsent when close() or the exit flush gave up. */
  unsent: number;
  /** Records queued or being sent. */
  queued: number;
}

export interface LogbotSender {
  /** Queues a record; false when it was dropped. Never waits, never throws for the network. */
  send(record: RecordInput): boolean;
  log(level: RecordInput["level"], message: string, fields?: Omit<RecordInput, "level" | "message">): boolean;
  /** Sends what is queued now; true when all of it was stored or refused within the timeout. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Stops taking records, sends what is queued within the timeout; true when nothing is left. */
  close(timeoutMs?: number): Promise<boolean>;
  readonly stats: SenderStats;
}

class Reporter {
  readonly #last = new Map<string, { at: number; held: number }>();
  constructor(readonly intervalMs: number) {}

  warn(kind: string, message: string, count = 1, code?: string): void {
    const now = Date.now();
    const last = this.#last.get(kind);
    if (last && now - last.at < this.intervalMs) {
      last.held += count;
      return;
    }
    if (last?.held) message += ` (${last.held} more record(s) since the last warning of this kind)`;
    this.#last.set(kind, { at: now, held: 0 });
    process.emitWarning(message, { type: "LogbotWarning", code });
  }
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new RangeError(message);
}

class Sender implements LogbotSender {
  readonly #transport: HttpTransport;
  readonly #bot: string;
  readonly #batchSize: number;
  readonly #intervalMs: number;
  readonly #maxQueue: number;
  readonly #maxBatchBytes: number;
  readonly #retryBaseMs: number;
  readonly #retryCapMs: number;
  readonly #maxServerErrorAttempts: number;
  readonly #flushTimeoutMs: number;
  readonly #limits: FitLimits;
  readonly #source: LogSource;
  readonly #onError?: ErrorCallback;
  readonly #reporter = new Reporter(60_000);
  readonly #bodyPrefix: string;

  #queue: LogRecordInput[] = [];
  #head = 0;
  #oldestAt = 0;
  #enqueued = 0;
  #finished = 0;
  #flushRequests = 0;
  #pumping = false;
  #timer?: NodeJS.Timeout;
  #wakeSleeper?: () => void;
  #waiters: { target: number; resolve: (done: boolean) => void }[] = [];
  #closed = false;
  #deadline?: number;
  #stopped = false;
  #exitFlushed = false;
  #onBeforeExit?: () => void;
  #counts = { sent: 0, dropped: 0, failed: 0, unsent: 0 };

  constructor(options: SenderOptions) {
    check(typeof options.bot === "string" && options.bot.length > 0, "bot must be a bot's name");
    this.#transport = new HttpTransport(options);
    this.#bot = options.bot;
    this.#batchSize = options.batchSize ?? 100;
    check(Number.isInteger(this.#batchSize) && this.#batchSize >= 1 && this.#batchSize <= 1000, "batchSize must be 1 to 1000");
    this.#intervalMs = options.flushIntervalMs ?? 1000;
    check(this.#intervalMs >= 0, "flushIntervalMs must be >= 0");
    this.#maxQueue = options.maxQueue ?? 10_000;
    check(this.#maxQueue >= 1, "maxQueue must be at least 1");
    this.#maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
    check(this.#maxBatchBytes >= 1024, "maxBatchBytes must be at least 1024");
    this.#retryBaseMs = options.retryBaseMs ?? 200;
    this.#retryCapMs = options.retryCapMs ?? 30_000;
    check(this.#retryBaseMs > 0 && this.#retryCapMs >= this.#retryBaseMs, "0 < retryBaseMs <= retryCapMs is required");
    this.#maxServerErrorAttempts = options.maxServerErrorAttempts ?? 5;
    this.#flushTimeoutMs = options.flushTimeoutMs ?? 10_000;
    this.#limits = { maxMessageChars: options.maxMessageChars, maxAttributesBytes: options.maxAttributesBytes };
    this.#source = { pid: process.pid, processName: basename(process.argv[1] ?? process.title), ...options.source };
    this.#onError = options.onError;
    this.#bodyPrefix = `{"query":${JSON.stringify(SEND_LOGS)},"variables":{"bot":${JSON.stringify(this.#bot)},"key":`;
    if (options.flushOnExit ?? true) {
      this.#onBeforeExit = () => this.#flushOnExit();
      process.on("beforeExit", this.#onBeforeExit);
    }
  }

  get stats(): SenderStats {
    return { ...this.#counts, queued: this.#enqueued - this.#finished };
  }

  log(level: RecordInput["level"], message: string, fields: Omit<RecordInput, "level" | "message"> = {}): boolean {
    return this.send({ ...fields, level, message });
  }

  send(record: RecordInput): boolean {
    if (this.#closed || this.#queue.length - this.#head >= this.#maxQueue) {
      this.#counts.dropped++;
      const why = this.#closed ? "the sender is closed" : `the queue of ${this.#maxQueue} records is full`;
      this.#reporter.warn("dropped", `logbot: ${why}; a record for bot ${JSON.stringify(this.#bot)} was dropped (stats.dropped counts them)`);
      return false;
    }
    let input: LogRecordInput;
    try {
      input = fit(toInput(record), this.#limits);
    } catch (error) {
      this.#counts.failed++;
      this.#reporter.warn("unreadable", `logbot: a record could not be read and was dropped: ${(error as Error).message}`);
      return false;
    }
    input.source = { ...this.#source, ...(input.source ?? {}) };
    if (this.#queue.length === this.#head) this.#oldestAt = Date.now();
    this.#queue.push(input);
    this.#enqueued++;
    if (this.#queue.length - this.#head >= this.#batchSize) this.#kick();
    else this.#arm(this.#intervalMs);
    return true;
  }

  async flush(timeoutMs = this.#flushTimeoutMs): Promise<boolean> {
    const target = this.#enqueued;
    if (this.#finished >= target) return true;
    this.#flushRequests++;
    this.#kick();
    try {
      return await this.#waitFor(target, timeoutMs);
    } finally {
      this.#flushRequests--;
    }
  }

  async close(timeoutMs = this.#flushTimeoutMs): Promise<boolean> {
    if (this.#onBeforeExit) {
      process.off("beforeExit", this.#onBeforeExit);
      this.#onBeforeExit = undefined;
    }
    if (!this.#closed) {
      this.#closed = true;
      this.#deadline = Date.now() + timeoutMs;
      this.#wakeSleeper?.();
      this.#kick();
    }
    const done = await this.#waitFor(this.#enqueued, Math.max(0, (this.#deadline ?? Date.now()) - Date.now()));
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (!done) this.#giveUp("close()", timeoutMs);
    return done;
  }

  #flushOnExit(): void {
    if (this.#exitFlushed || this.#enqueued === this.#finished) return;
    this.#exitFlushed = true;
    void this.flush().then((done) => {
      if (!done) this.#giveUp("the flush at exit", this.#flushTimeoutMs);
    });
  }

  #giveUp(what: string, timeoutMs: number): void {
    const left = this.#enqueued - this.#finished;
    this.#counts.unsent = left;
    this.#reporter.warn("unsent", `logbot: ${left} record(s) for bot ${JSON.stringify(this.#bot)} were not sent before ${what} gave up after ${timeoutMs} ms`);
  }

  #waitFor(target: number, timeoutMs: number): Promise<boolean> {
    if (this.#finished >= target) return Promise.resolve(true);
    return new Promise((resolve) => {
      // A ref'd timer: waiting for a flush keeps the process alive until it is done or due.
      const timer = setTimeout(() => finish(false), timeoutMs);
      const waiter = { target, resolve: (done: boolean) => finish(done) };
      const finish = (done: boolean) => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(done);
      };
      this.#waiters.push(waiter);
    });
  }

  #advance(count: number): void {
    this.#finished += count;
    for (const waiter of [...this.#waiters]) if (this.#finished >= waiter.target) waiter.resolve(true);
  }

  #arm(delayMs: number): void {
    if (this.#timer !== undefined || this.#pumping || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#kick();
    }, Math.max(0, delayMs));
    this.#timer.unref();
  }

  #kick(): void {
    if (this.#pumping || this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pumping = true;
    // On a later turn of the event loop: send() returns before any work is done.
    setImmediate(() => void this.#pump());
  }

  #due(): boolean {
    const queued = this.#queue.length - this.#head;
    if (queued === 0) return false;
    return queued >= this.#batchSize || this.#flushRequests > 0 || this.#closed || Date.now() - this.#oldestAt >= this.#intervalMs;
  }

  async #pump(): Promise<void> {
    try {
      while (this.#due()) {
        if (this.#closed && Date.now() >= (this.#deadline ?? Infinity)) return;
        const parts = this.#cut();
        if (!(await this.#deliver(parts))) return; // the close deadline passed
        this.#advance(parts.length);
      }
    } catch (error) {
      this.#reporter.warn("bug", `logbot: sender error: ${String(error)}`);
    } finally {
      this.#pumping = false;
      if (this.#queue.length > this.#head && !this.#stopped && !(this.#closed && Date.now() >= (this.#deadline ?? Infinity))) {
        this.#arm(this.#oldestAt + this.#intervalMs - Date.now());
      }
    }
  }

  /** The next batch, serialized: up to batchSize records and maxBatchBytes. */
  #cut(): string[] {
    const parts: string[] = [];
    let size = this.#bodyPrefix.length + 256;
    while (this.#head < this.#queue.length && parts.length < this.#batchSize) {
      const part = JSON.stringify(this.#queue[this.#head]);
      const bytes = Buffer.byteLength(part) + 1;
      if (parts.length && size + bytes > this.#maxBatchBytes) break;
      size += bytes;
      parts.push(part);
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.#queue.length > this.#head) this.#oldestAt = Date.now();
    return parts;
  }

  #body(parts: string[], key: string): string {
    return `${this.#bodyPrefix}${JSON.stringify(key)},"records":[${parts.join(",")}]}}`;
  }

  /** Sends one batch until stored or refused (true), or the close deadline passes (false). */
  async #deliver(parts: string[], givenKey?: string): Promise<boolean> {
    if (!parts.length) return true;
    let key = givenKey ?? randomUUID();
    let attempt = 0;
    let outageSince: number | undefined;
    for (;;) {
      try {
        readAnswer(await this.#transport.post(this.#body(parts, key)));
        this.#counts.sent += parts.length;
        return true;
      } catch (caught) {
        const error = caught instanceof LogbotError ? caught : new LogbotError(String(caught));
        if (error instanceof RefusedError) {
          const index = refusedRecord(error, parts.length);
          if (index !== undefined && parts.length > 1) {
            this.#refused(error, 1);
            parts = [...parts.slice(0, index), ...parts.slice(index + 1)];
            // Nothing was stored under the old key; a new one marks the new content.
            key = key.length < MAX_KEY ? `${key}.r${index}` : randomUUID();
            attempt = 0;
            continue;
          }
          if (error instanceof LimitExceededError && error.status === 413 && parts.length > 1) {
            const half = parts.length >> 1;
            const derive = (suffix: string) => (key.length < MAX_KEY ? key + suffix : undefined);
            return (await this.#deliver(parts.slice(0, half), derive(".a"))) && this.#deliver(parts.slice(half), derive(".b"));
          }
          this.#refused(error, parts.length);
          return true;
        }
        if (!(error instanceof TransientError)) {
          this.#refused(error, parts.length);
          return true;
        }
        attempt++;
        if (error instanceof ServerError && attempt >= this.#maxServerErrorAttempts) {
          this.#refused(error, parts.length);
          return true;
        }
        const now = Date.now();
        outageSince ??= now;
        if (now - outageSince >= 30_000) {
          this.#reporter.warn(
            "retrying",
            `logbot: the gateway has not taken records for bot ${JSON.stringify(this.#bot)} for ${Math.round((now - outageSince) / 1000)} s, still retrying (${this.stats.queued} queued): ${error.message}`,
          );
        }
        let delay = Math.random() * Math.min(this.#retryCapMs, this.#retryBaseMs * 2 ** Math.min(attempt, 30));
        if (error.retryAfterMs !== undefined) delay = Math.min(Math.max(delay, error.retryAfterMs), 600_000);
        if (!(await this.#pause(delay))) return false;
      }
    }
  }

  /** Sleeps (an unref'd timer); false when the close deadline passes first. */
  async #pause(delayMs: number): Promise<boolean> {
    const end = Date.now() + delayMs;
    for (;;) {
      const now = Date.now();
      if (this.#deadline !== undefined && now >= this.#deadline) return false;
      if (now >= end) return true;
      const until = Math.min(end, this.#deadline ?? end);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wakeSleeper = undefined;
          resolve();
        }, until - now);
        timer.unref();
        this.#wakeSleeper = () => {
          clearTimeout(timer);
          this.#wakeSleeper = undefined;
          resolve();
        };
      });
    }
  }

  #refused(error: LogbotError, count: number): void {
    this.#counts.failed += count;
    if (this.#onError) {
      try {
        this.#onError(error, count);
      } catch (callbackError) {
        this.#reporter.warn("onError", `logbot: onError threw ${String(callbackError)}`);
      }
      return;
    }
    this.#reporter.warn(
      `refused:${error.name}:${error.code}:${error.status}`,
      `logbot: ${count} record(s) for bot ${JSON.stringify(this.#bot)} were not stored: ${error.message} (${[error.code && `code=${error.code}`, error.status && `status=${error.status}`].filter(Boolean).join(", ")})`,
      count,
      error.code,
    );
  }
}

function refusedRecord(error: LogbotError, count: number): number | undefined {
  const match = RECORD_FIELD.exec(error.field ?? "");
  if (!match) return undefined;
  const index = Number(match[1]);
  return index < count ? index : undefined;
}

/** A batching sender for one bot (see the module comment for its guarantees). */
export function createSender(options: SenderOptions): LogbotSender {
  return new Sender(options);
}
