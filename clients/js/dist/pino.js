/**
 * `logbot-client/pino`: a pino transport that ships a Node service's logs to a bot.
 *
 *     pino({ transport: { target: "logbot-client/pino", options: { url, bot } } })
 *
 * It runs in pino's transport worker thread with a `createSender` inside (same batching,
 * retries and limits; the options are `SenderOptions` less the callbacks, which cannot cross
 * into the worker). pino's numeric levels map to the gateway's (10/20 DEBUG, 30 INFO, 40 WARNING,
 * 50 ERROR, 60 CRITICAL), `msg` is the message (with `err`'s stack appended), `time` the event
 * time, `reqId`/`requestId`/`req.id` the request id, `res.statusCode`/`statusCode` the status
 * code, `name`/`pid`/`hostname` the source, and every other field an attribute.
 */
import build from "pino-abstract-transport";
import { levelName } from "./records.js";
import { createSender } from "./sender.js";
const KNOWN = new Set(["level", "time", "msg", "message", "err", "error", "pid", "hostname", "name", "reqId", "requestId", "v"]);
function errorText(error) {
    if (!error || typeof error !== "object")
        return String(error);
    return error.stack || `${error.type ?? "Error"}: ${error.message ?? ""}`;
}
/** The record a pino log line becomes. */
export function fromPino(line) {
    const err = line.err ?? (line.error && typeof line.error === "object" ? line.error : undefined);
    let message = typeof line.msg === "string" ? line.msg : typeof line.message === "string" ? line.message : "";
    if (err)
        message = message ? `${message}\n${errorText(err)}` : errorText(err);
    const attributes = {};
    for (const [key, value] of Object.entries(line))
        if (!KNOWN.has(key) && !(key === "error" && err))
            attributes[key] = value;
    const requestId = line.reqId ?? line.requestId ?? line.req?.id;
    const statusCode = line.res?.statusCode ?? line.statusCode;
    return {
        level: typeof line.level === "number" ? line.level : levelName(String(line.level ?? "info")),
        message,
        eventAt: typeof line.time === "number" || typeof line.time === "string" ? line.time : undefined,
        requestId: requestId === undefined || requestId === null ? undefined : String(requestId),
        statusCode: typeof statusCode === "number" ? statusCode : undefined,
        source: {
            pid: typeof line.pid === "number" ? line.pid : undefined,
            processName: typeof line.name === "string" ? line.name : undefined,
            processDescription: typeof line.hostname === "string" ? `host ${line.hostname}` : undefined,
        },
        attributes: Object.keys(attributes).length ? attributes : undefined,
    };
}
/** pino's thread-stream gives a transport 10 s to end before it fails the stream: the sender's
 * close timeout stays below that (8 s unless `flushTimeoutMs` says otherwise). */
export const PINO_CLOSE_TIMEOUT_MS = 8000;
export default async function logbotTransport(options) {
    // pino ends the worker on exit; the beforeExit hook belongs to the main thread.
    const sender = createSender({ flushTimeoutMs: PINO_CLOSE_TIMEOUT_MS, ...options, flushOnExit: false });
    return build(async (source) => {
        for await (const line of source)
            sender.send(fromPino(line));
    }, {
        async close() {
            await sender.close();
        },
    });
}
