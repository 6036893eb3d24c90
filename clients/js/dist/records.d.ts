/**
 * Records as the gateway takes them (GraphQL `LogRecordInput`): levels, times, JSON-safe
 * attributes, and the gateway's per-record limits applied on this side, so that one odd record
 * (an empty message, 17,000 characters, huge attributes) does not get a whole batch refused.
 */
export declare const LEVELS: readonly ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
export type Level = (typeof LEVELS)[number];
/** The gateway's per-record limits (`src/domain/record.rs`). */
export declare const MAX_MESSAGE_CHARS = 16384;
export declare const MAX_ATTRIBUTES_BYTES: number;
export declare const MAX_REQUEST_ID_CHARS = 128;
export declare const EMPTY_MESSAGE = "(empty message)";
export interface LogSource {
    userName?: string;
    pid?: number;
    processName?: string;
    processDescription?: string;
}
/** A record to send. `level` is a name or a pino number (10 trace ... 60 fatal); INFO when absent. */
export interface RecordInput {
    level?: Level | Lowercase<Level> | "warn" | "fatal" | "trace" | number;
    message: string;
    /** When it happened: a Date, epoch milliseconds, or ISO 8601 (no zone = UTC). */
    eventAt?: Date | number | string;
    requestId?: string;
    statusCode?: number;
    source?: LogSource;
    attributes?: Record<string, unknown>;
}
/** The wire shape. */
export interface LogRecordInput {
    level: Level;
    message: string;
    eventAt?: string;
    requestId?: string;
    statusCode?: number;
    source?: LogSource;
    attributes?: Record<string, unknown>;
}
/** A gateway level from a name (`warn`, `fatal`, `trace` and case forgiven) or a pino number
 * (10 trace and 20 debug are DEBUG, 30 INFO, 40 WARNING, 50 ERROR, 60 CRITICAL; in-between
 * numbers round down). */
export declare function levelName(level: RecordInput["level"] | string): Level;
/** ISO 8601 in UTC with milliseconds; a string is passed on for the gateway to read. */
export declare function formatTime(moment: Date | number | string): string;
/** A copy that JSON takes as it is: Dates as ISO text, BigInts and non-finite numbers as text,
 * Errors as {name, message, stack}, Maps and Sets as objects and arrays, cycles and depth cut. */
export declare function jsonSafe(value: unknown, depth?: number, seen?: Set<object>): unknown;
/** Attributes that fit in `limit` bytes of JSON: keys kept in order while they fit, the names of
 * the others listed under `_omitted`. */
export declare function fitAttributes(attributes: Record<string, unknown>, limit?: number): Record<string, unknown>;
export interface FitLimits {
    maxMessageChars?: number;
    maxAttributesBytes?: number;
}
/** A `LogRecordInput` from a record to send, without cutting anything. */
export declare function toInput(record: RecordInput): LogRecordInput;
/** A record cut to the gateway's limits (what a sender queues). */
export declare function fit(record: LogRecordInput, limits?: FitLimits): LogRecordInput;
