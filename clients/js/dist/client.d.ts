import { LogbotError } from "./errors.js";
import { type Level, type LogSource, type RecordInput } from "./records.js";
import { type TransportOptions } from "./transport.js";
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
    sendLogs(bot: string, records: RecordInput[], options?: {
        idempotencyKey?: string;
    }): Promise<string[]>;
    sendLog(bot: string, level: RecordInput["level"], message: string, fields?: Omit<RecordInput, "level" | "message">): Promise<string>;
    logs(query: LogsQuery): Promise<LogPage>;
    /** Every matching record, newest first, page after page. */
    iterLogs(query: LogsQuery): AsyncGenerator<StoredLog>;
    /** Records committed for `bot` from now on; returns the function that unsubscribes.
     * `onError` gets a typed error when the subscription fails for good. */
    subscribe(options: {
        bot: string;
        minLevel?: RecordInput["level"];
    }, onRecord: (record: StoredLog) => void, onError?: (error: LogbotError) => void): () => void;
    /** Closes the WebSocket, if one was opened. */
    close(): Promise<void>;
}
/** A client of the gateway at `url` (signed when `appKey`/`appSecret` are given). */
export declare function createClient(options: ClientOptions): LogbotClient;
