/**
 * Typed errors carrying what the gateway said: `code` (the GraphQL error's `extensions.code`,
 * or the APIG `error_code` of a 401), the HTTP `status`, the input `field` at fault, the
 * `requestId` to find the call in the gateway's log.
 *
 * Two families matter to a sender: `TransientError` (send the same batch again with the same
 * idempotency key) and `RefusedError` (the same request gets the same answer: report it).
 */
export interface ErrorDetails {
    code?: string;
    status?: number;
    field?: string;
    requestId?: string;
    extensions?: Record<string, unknown>;
    retryAfterMs?: number;
    cause?: unknown;
}
export declare class LogbotError extends Error {
    readonly code?: string;
    readonly status?: number;
    readonly field?: string;
    readonly requestId?: string;
    readonly extensions: Record<string, unknown>;
    /** Whether the same request may succeed if sent again. */
    get retryable(): boolean;
    constructor(message: string, details?: ErrorDetails);
}
/** Did not go through but may later: transport error, timeout, 5xx, 429, "unavailable". */
export declare class TransientError extends LogbotError {
    /** How long the gateway asked to wait (`Retry-After`), when it said. */
    readonly retryAfterMs?: number;
    get retryable(): boolean;
    constructor(message: string, details?: ErrorDetails);
}
/** No HTTP answer: connection refused or reset, timeout, malformed answer. */
export declare class TransportError extends TransientError {
}
/** A 5xx or `INTERNAL_SERVER_ERROR`: a fault on the gateway's side. */
export declare class ServerError extends TransientError {
}
/** 502/503/504, `DATASPACE_UNAVAILABLE`, `BUSY`, `TIMEOUT`. */
export declare class UnavailableError extends TransientError {
}
/** 429; `retryAfterMs` from `Retry-After`. */
export declare class RateLimitedError extends TransientError {
}
/** The gateway refused the request; sending it again gets the same answer. */
export declare class RefusedError extends LogbotError {
}
/** 401 (`APIG.0301`, `APIG.0303` for a clock too far off) or `UNAUTHENTICATED`. */
export declare class AuthenticationError extends RefusedError {
}
/** `BAD_USER_INPUT`; `field` names what was wrong (`records[3].message`). */
export declare class BadInputError extends RefusedError {
}
/** `NOT_FOUND`, e.g. an unknown bot. */
export declare class NotFoundError extends RefusedError {
}
/** `FORBIDDEN`, `LIMIT_REACHED`. */
export declare class ForbiddenError extends RefusedError {
}
/** `LIMIT_EXCEEDED` or 413. */
export declare class LimitExceededError extends RefusedError {
}
/** The document did not parse or validate: a caller bug or a version mismatch. */
export declare class GraphQLRequestError extends RefusedError {
}
/** The subscription's WebSocket closed; `status` is the close code. */
export declare class SubscriptionClosed extends LogbotError {
    get retryable(): boolean;
}
/** The error class for an `extensions.code` (an unknown code is a refusal). */
export declare function errorForCode(code: string | undefined): new (message: string, details?: ErrorDetails) => LogbotError;
