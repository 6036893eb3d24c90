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
import { type RecordInput } from "./records.js";
import { type SenderOptions } from "./sender.js";
export type PinoTransportOptions = Omit<SenderOptions, "onError">;
/** The record a pino log line becomes. */
export declare function fromPino(line: Record<string, any>): RecordInput;
/** pino's thread-stream gives a transport 10 s to end before it fails the stream: the sender's
 * close timeout stays below that (8 s unless `flushTimeoutMs` says otherwise). */
export declare const PINO_CLOSE_TIMEOUT_MS = 8000;
export default function logbotTransport(options: PinoTransportOptions): Promise<import("stream").Transform & build.OnUnknown>;
