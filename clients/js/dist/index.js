/**
 * logbot-client: send a Node service's logs to a logbot-gateway bot, and read them back.
 *
 * - `createSender`: the batching sender (non-blocking, bounded, idempotent retries, flush on
 *   exit); `logbot-client/pino` wraps it as a pino transport.
 * - `createClient`: `sendLogs`, `sendLog`, `logs`, `iterLogs`, `subscribe`, `close`.
 * - typed errors carrying the gateway's `extensions.code`; the SDK-HMAC-SHA256 signer (`apig`).
 */
export { createClient } from "./client.js";
export { createSender } from "./sender.js";
export { LEVELS, levelName } from "./records.js";
export * from "./errors.js";
export * as apig from "./apig.js";
