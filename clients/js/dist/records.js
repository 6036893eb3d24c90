/**
 * Records as the gateway takes them (GraphQL `LogRecordInput`): levels, times, JSON-safe
 * attributes, and the gateway's per-record limits applied on this side, so that one odd record
 * (an empty message, 17,000 characters, huge attributes) does not get a whole batch refused.
 */
export const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
/** The gateway's per-record limits (`src/domain/record.rs`). */
export const MAX_MESSAGE_CHARS = 16384;
export const MAX_ATTRIBUTES_BYTES = 16 * 1024;
export const MAX_REQUEST_ID_CHARS = 128;
const SOURCE_LIMITS = { userName: 128, processName: 256, processDescription: 1024 };
const MAX_DEPTH = 8;
export const EMPTY_MESSAGE = "(empty message)";
/** A gateway level from a name (`warn`, `fatal`, `trace` and case forgiven) or a pino number
 * (10 trace and 20 debug are DEBUG, 30 INFO, 40 WARNING, 50 ERROR, 60 CRITICAL; in-between
 * numbers round down). */
export function levelName(level) {
    if (typeof level === "number" && Number.isFinite(level)) {
        if (level >= 60)
            return "CRITICAL";
        if (level >= 50)
            return "ERROR";
        if (level >= 40)
            return "WARNING";
        if (level >= 30)
            return "INFO";
        return "DEBUG";
    }
    if (typeof level === "string") {
        const upper = level.trim().toUpperCase();
        const name = { WARN: "WARNING", FATAL: "CRITICAL", TRACE: "DEBUG" }[upper] ?? upper;
        if (LEVELS.includes(name))
            return name;
    }
    throw new TypeError(`unknown level ${JSON.stringify(level)}: use a pino number or one of ${LEVELS.join(", ")}`);
}
/** ISO 8601 in UTC with milliseconds; a string is passed on for the gateway to read. */
export function formatTime(moment) {
    if (typeof moment === "string")
        return moment;
    const date = typeof moment === "number" ? new Date(moment) : moment;
    if (!(date instanceof Date) || Number.isNaN(date.getTime()))
        throw new TypeError(`not a time: ${String(moment)}`);
    return date.toISOString();
}
/** A copy that JSON takes as it is: Dates as ISO text, BigInts and non-finite numbers as text,
 * Errors as {name, message, stack}, Maps and Sets as objects and arrays, cycles and depth cut. */
export function jsonSafe(value, depth = 0, seen = new Set()) {
    if (value === null || typeof value === "string" || typeof value === "boolean")
        return value;
    if (typeof value === "number")
        return Number.isFinite(value) ? value : String(value);
    if (typeof value === "bigint")
        return value.toString();
    if (value === undefined || typeof value === "function" || typeof value === "symbol")
        return undefined;
    if (value instanceof Date)
        return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
    if (typeof value !== "object")
        return String(value);
    if (seen.has(value))
        return "[Circular]";
    if (depth >= MAX_DEPTH)
        return "[Object]";
    seen.add(value);
    try {
        if (value instanceof Error)
            return { name: value.name, message: value.message, stack: value.stack };
        if (Array.isArray(value) || value instanceof Set) {
            return Array.from(value, (item) => jsonSafe(item, depth + 1, seen) ?? null);
        }
        const entries = value instanceof Map ? Array.from(value.entries()) : Object.entries(value);
        const out = {};
        for (const [key, item] of entries) {
            const safe = jsonSafe(item, depth + 1, seen);
            if (safe !== undefined)
                out[String(key)] = safe;
        }
        return out;
    }
    finally {
        seen.delete(value);
    }
}
function cut(text, limit) {
    if (text.length <= limit)
        return text;
    // Never split a surrogate pair.
    let end = limit - 1;
    const code = text.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff)
        end--;
    return text.slice(0, end) + "\u2026";
}
function cleanSourceText(text, limit) {
    if (text === undefined || text === null)
        return undefined;
    // The gateway refuses control characters other than tab and line breaks in source fields.
    // eslint-disable-next-line no-control-regex
    const cleaned = String(text).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, " ").trim();
    return cleaned ? cut(cleaned, limit) : undefined;
}
function byteLength(value) {
    return Buffer.byteLength(JSON.stringify(value));
}
/** Attributes that fit in `limit` bytes of JSON: keys kept in order while they fit, the names of
 * the others listed under `_omitted`. */
export function fitAttributes(attributes, limit = MAX_ATTRIBUTES_BYTES) {
    if (byteLength(attributes) <= limit)
        return attributes;
    const kept = {};
    const omitted = [];
    let used = 2;
    for (const [key, value] of Object.entries(attributes)) {
        const size = byteLength({ [key]: value });
        if (used + size <= limit - 200) {
            kept[key] = value;
            used += size;
        }
        else {
            omitted.push(key);
        }
    }
    const names = [];
    let length = 0;
    for (const key of omitted) {
        if (length + key.length > 180) {
            names.push("...");
            break;
        }
        names.push(cut(key, 60));
        length += key.length + 4;
    }
    kept._omitted = names;
    return kept;
}
/** A `LogRecordInput` from a record to send, without cutting anything. */
export function toInput(record) {
    if (record === null || typeof record !== "object")
        throw new TypeError("a record is an object with a message");
    if (record.message === undefined || record.message === null)
        throw new TypeError("a record needs a message");
    const out = { level: levelName(record.level ?? "INFO"), message: String(record.message) };
    if (record.eventAt !== undefined && record.eventAt !== null)
        out.eventAt = formatTime(record.eventAt);
    if (record.requestId !== undefined && record.requestId !== null)
        out.requestId = String(record.requestId);
    if (record.statusCode !== undefined && record.statusCode !== null)
        out.statusCode = record.statusCode;
    if (record.source)
        out.source = { ...record.source };
    if (record.attributes)
        out.attributes = jsonSafe(record.attributes);
    return out;
}
/** A record cut to the gateway's limits (what a sender queues). */
export function fit(record, limits = {}) {
    const message = record.message.trimEnd();
    record.message = message.trim() ? cut(message, limits.maxMessageChars ?? MAX_MESSAGE_CHARS) : EMPTY_MESSAGE;
    if (record.requestId !== undefined) {
        const id = record.requestId.trim();
        if (id)
            record.requestId = cut(id, MAX_REQUEST_ID_CHARS);
        else
            delete record.requestId;
    }
    if (record.statusCode !== undefined && !(Number.isInteger(record.statusCode) && record.statusCode >= 100 && record.statusCode <= 599)) {
        record.attributes = { ...(record.attributes ?? {}), statusCode: jsonSafe(record.statusCode) };
        delete record.statusCode;
    }
    if (record.source) {
        const source = {};
        for (const [name, limit] of Object.entries(SOURCE_LIMITS)) {
            const text = cleanSourceText(record.source[name], limit);
            if (text !== undefined)
                source[name] = text;
        }
        const pid = record.source.pid;
        if (Number.isInteger(pid) && pid >= 0)
            source.pid = pid;
        record.source = source;
    }
    if (record.attributes && Object.keys(record.attributes).length) {
        record.attributes = fitAttributes(record.attributes, limits.maxAttributesBytes ?? MAX_ATTRIBUTES_BYTES);
    }
    else {
        delete record.attributes;
    }
    return record;
}
