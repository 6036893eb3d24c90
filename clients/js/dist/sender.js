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
import { fit, toInput } from "./records.js";
import { HttpTransport, readAnswer } from "./transport.js";
export const SEND_LOGS = "mutation SendLogs($bot: String!, $records: [LogRecordInput!]!, $key: String) " +
    "{ sendLogs(bot: $bot, records: $records, idempotencyKey: $key) { accepted ids } }";
const RECORD_FIELD = /^records\[(\d+)\]/;
/** The gateway takes idempotency keys of up to 200 characters; derived keys stay below. */
const MAX_KEY = 160;
class Reporter {
    intervalMs;
    #last = new Map();
    constructor(intervalMs) {
        this.intervalMs = intervalMs;
    }
    warn(kind, message, count = 1, code) {
        const now = Date.now();
        const last = this.#last.get(kind);
        if (last && now - last.at < this.intervalMs) {
            last.held += count;
            return;
        }
        if (last?.held)
            message += ` (${last.held} more record(s) since the last warning of this kind)`;
        this.#last.set(kind, { at: now, held: 0 });
        process.emitWarning(message, { type: "LogbotWarning", code });
    }
}
function check(condition, message) {
    if (!condition)
        throw new RangeError(message);
}
class Sender {
    #transport;
    #bot;
    #batchSize;
    #intervalMs;
    #maxQueue;
    #maxBatchBytes;
    #retryBaseMs;
    #retryCapMs;
    #maxServerErrorAttempts;
    #flushTimeoutMs;
    #limits;
    #source;
    #onError;
    #reporter = new Reporter(60_000);
    #bodyPrefix;
    #queue = [];
    #head = 0;
    #oldestAt = 0;
    #enqueued = 0;
    #finished = 0;
    #flushRequests = 0;
    #pumping = false;
    #timer;
    #wakeSleeper;
    #waiters = [];
    #closed = false;
    #deadline;
    #stopped = false;
    #exitFlushed = false;
    #onBeforeExit;
    #counts = { sent: 0, dropped: 0, failed: 0, unsent: 0 };
    constructor(options) {
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
    get stats() {
        return { ...this.#counts, queued: this.#enqueued - this.#finished };
    }
    log(level, message, fields = {}) {
        return this.send({ ...fields, level, message });
    }
    send(record) {
        if (this.#closed || this.#queue.length - this.#head >= this.#maxQueue) {
            this.#counts.dropped++;
            const why = this.#closed ? "the sender is closed" : `the queue of ${this.#maxQueue} records is full`;
            this.#reporter.warn("dropped", `logbot: ${why}; a record for bot ${JSON.stringify(this.#bot)} was dropped (stats.dropped counts them)`);
            return false;
        }
        let input;
        try {
            input = fit(toInput(record), this.#limits);
        }
        catch (error) {
            this.#counts.failed++;
            this.#reporter.warn("unreadable", `logbot: a record could not be read and was dropped: ${error.message}`);
            return false;
        }
        input.source = { ...this.#source, ...(input.source ?? {}) };
        if (this.#queue.length === this.#head)
            this.#oldestAt = Date.now();
        this.#queue.push(input);
        this.#enqueued++;
        if (this.#queue.length - this.#head >= this.#batchSize)
            this.#kick();
        else
            this.#arm(this.#intervalMs);
        return true;
    }
    async flush(timeoutMs = this.#flushTimeoutMs) {
        const target = this.#enqueued;
        if (this.#finished >= target)
            return true;
        this.#flushRequests++;
        this.#kick();
        try {
            return await this.#waitFor(target, timeoutMs);
        }
        finally {
            this.#flushRequests--;
        }
    }
    async close(timeoutMs = this.#flushTimeoutMs) {
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
        if (!done)
            this.#giveUp("close()", timeoutMs);
        return done;
    }
    #flushOnExit() {
        if (this.#exitFlushed || this.#enqueued === this.#finished)
            return;
        this.#exitFlushed = true;
        void this.flush().then((done) => {
            if (!done)
                this.#giveUp("the flush at exit", this.#flushTimeoutMs);
        });
    }
    #giveUp(what, timeoutMs) {
        const left = this.#enqueued - this.#finished;
        this.#counts.unsent = left;
        this.#reporter.warn("unsent", `logbot: ${left} record(s) for bot ${JSON.stringify(this.#bot)} were not sent before ${what} gave up after ${timeoutMs} ms`);
    }
    #waitFor(target, timeoutMs) {
        if (this.#finished >= target)
            return Promise.resolve(true);
        return new Promise((resolve) => {
            // A ref'd timer: waiting for a flush keeps the process alive until it is done or due.
            const timer = setTimeout(() => finish(false), timeoutMs);
            const waiter = { target, resolve: (done) => finish(done) };
            const finish = (done) => {
                clearTimeout(timer);
                this.#waiters = this.#waiters.filter((w) => w !== waiter);
                resolve(done);
            };
            this.#waiters.push(waiter);
        });
    }
    #advance(count) {
        this.#finished += count;
        for (const waiter of [...this.#waiters])
            if (this.#finished >= waiter.target)
                waiter.resolve(true);
    }
    #arm(delayMs) {
        if (this.#timer !== undefined || this.#pumping || this.#stopped)
            return;
        this.#timer = setTimeout(() => {
            this.#timer = undefined;
            this.#kick();
        }, Math.max(0, delayMs));
        this.#timer.unref();
    }
    #kick() {
        if (this.#pumping || this.#stopped)
            return;
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#pumping = true;
        // On a later turn of the event loop: send() returns before any work is done.
        setImmediate(() => void this.#pump());
    }
    #due() {
        const queued = this.#queue.length - this.#head;
        if (queued === 0)
            return false;
        return queued >= this.#batchSize || this.#flushRequests > 0 || this.#closed || Date.now() - this.#oldestAt >= this.#intervalMs;
    }
    async #pump() {
        try {
            while (this.#due()) {
                if (this.#closed && Date.now() >= (this.#deadline ?? Infinity))
                    return;
                const parts = this.#cut();
                if (!(await this.#deliver(parts)))
                    return; // the close deadline passed
                this.#advance(parts.length);
            }
        }
        catch (error) {
            this.#reporter.warn("bug", `logbot: sender error: ${String(error)}`);
        }
        finally {
            this.#pumping = false;
            if (this.#queue.length > this.#head && !this.#stopped && !(this.#closed && Date.now() >= (this.#deadline ?? Infinity))) {
                this.#arm(this.#oldestAt + this.#intervalMs - Date.now());
            }
        }
    }
    /** The next batch, serialized: up to batchSize records and maxBatchBytes. */
    #cut() {
        const parts = [];
        let size = this.#bodyPrefix.length + 256;
        while (this.#head < this.#queue.length && parts.length < this.#batchSize) {
            const part = JSON.stringify(this.#queue[this.#head]);
            const bytes = Buffer.byteLength(part) + 1;
            if (parts.length && size + bytes > this.#maxBatchBytes)
                break;
            size += bytes;
            parts.push(part);
            this.#head++;
        }
        if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
            this.#queue = this.#queue.slice(this.#head);
            this.#head = 0;
        }
        if (this.#queue.length > this.#head)
            this.#oldestAt = Date.now();
        return parts;
    }
    #body(parts, key) {
        return `${this.#bodyPrefix}${JSON.stringify(key)},"records":[${parts.join(",")}]}}`;
    }
    /** Sends one batch until stored or refused (true), or the close deadline passes (false). */
    async #deliver(parts, givenKey) {
        if (!parts.length)
            return true;
        let key = givenKey ?? randomUUID();
        let attempt = 0;
        let outageSince;
        for (;;) {
            try {
                readAnswer(await this.#transport.post(this.#body(parts, key)));
                this.#counts.sent += parts.length;
                return true;
            }
            catch (caught) {
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
                        const derive = (suffix) => (key.length < MAX_KEY ? key + suffix : undefined);
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
                    this.#reporter.warn("retrying", `logbot: the gateway has not taken records for bot ${JSON.stringify(this.#bot)} for ${Math.round((now - outageSince) / 1000)} s, still retrying (${this.stats.queued} queued): ${error.message}`);
                }
                let delay = Math.random() * Math.min(this.#retryCapMs, this.#retryBaseMs * 2 ** Math.min(attempt, 30));
                if (error.retryAfterMs !== undefined)
                    delay = Math.min(Math.max(delay, error.retryAfterMs), 600_000);
                if (!(await this.#pause(delay)))
                    return false;
            }
        }
    }
    /** Sleeps (an unref'd timer); false when the close deadline passes first. */
    async #pause(delayMs) {
        const end = Date.now() + delayMs;
        for (;;) {
            const now = Date.now();
            if (this.#deadline !== undefined && now >= this.#deadline)
                return false;
            if (now >= end)
                return true;
            const until = Math.min(end, this.#deadline ?? end);
            await new Promise((resolve) => {
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
    #refused(error, count) {
        this.#counts.failed += count;
        if (this.#onError) {
            try {
                this.#onError(error, count);
            }
            catch (callbackError) {
                this.#reporter.warn("onError", `logbot: onError threw ${String(callbackError)}`);
            }
            return;
        }
        this.#reporter.warn(`refused:${error.name}:${error.code}:${error.status}`, `logbot: ${count} record(s) for bot ${JSON.stringify(this.#bot)} were not stored: ${error.message} (${[error.code && `code=${error.code}`, error.status && `status=${error.status}`].filter(Boolean).join(", ")})`, count, error.code);
    }
}
function refusedRecord(error, count) {
    const match = RECORD_FIELD.exec(error.field ?? "");
    if (!match)
        return undefined;
    const index = Number(match[1]);
    return index < count ? index : undefined;
}
/** A batching sender for one bot (see the module comment for its guarantees). */
export function createSender(options) {
    return new Sender(options);
}
