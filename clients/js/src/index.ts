/**
 * logbot-client: send a Node service's logs to a logbot-gateway bot, and read them back.
 *
 * - `createSender`: the batching sender (non-blocking, bounded, idempotent retries, flush on
 *   exit); `logbot-client/pino` wraps it as a pino transport.
 * - `createClient`: `sendLogs`, `sendLog`, `logs`, `iterLogs`, `subscribe`, `close`.
 * - typed errors carrying the gateway's `extensions.code`; the SDK-HMAC-SHA256 signer (`apig`).
 */
export { createClient, type ClientOptions, type LogbotClient, type LogPage, type LogsQuery, type StoredLog } from "./client.js";
export { createSender, type ErrorCallback, type LogbotSender, type SenderOptions, type SenderStats } from "./sender.js";
export { LEVELS, levelName, type Level, type LogSource, type RecordInput } from "./records.js";
export * from "./errors.js";
export * as apig from "./apig.js";
