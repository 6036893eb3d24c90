import { LogbotError } from "./errors.js";
import { type FitLimits, type LogSource, type RecordInput } from "./records.js";
import { type TransportOptions } from "./transport.js";
export declare const SEND_LOGS: string;
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
/** A batching sender for one bot (see the module comment for its guarantees). */
export declare function createSender(options: SenderOptions): LogbotSender;
