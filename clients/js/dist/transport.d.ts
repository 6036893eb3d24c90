/** The largest answer read; a larger one is a transport error rather than unbounded memory. */
export declare const MAX_RESPONSE_BYTES: number;
export interface TransportOptions {
    /** The gateway (`http://host:8080`) or its GraphQL endpoint (`.../graphql`). */
    url: string;
    appKey?: string;
    appSecret?: string;
    /** Per request (default 5000). */
    timeoutMs?: number;
}
/** The GraphQL endpoint, normalized (a default port dropped, as `fetch` sends Host). */
export declare function graphqlUrl(url: string): URL;
/** `Retry-After` in milliseconds: seconds or an HTTP date. */
export declare function parseRetryAfter(value: string | null): number | undefined;
export interface Answer {
    status: number;
    headers: Headers;
    text: string;
}
export declare class HttpTransport {
    #private;
    readonly url: URL;
    readonly timeoutMs: number;
    constructor(options: TransportOptions);
    get signed(): boolean;
    /** `headers` plus the APIG signature headers for a request to `url` (as sent: the Host the
     * HTTP library derives from `url.host`). */
    signedHeaders(method: string, url: URL, headers: Record<string, string>, body: Uint8Array | string): Record<string, string>;
    /** One POST; a TransportError when no complete answer arrived. */
    post(body: string): Promise<Answer>;
    execute<T = Record<string, unknown>>(query: string, variables: Record<string, unknown>): Promise<T>;
}
/** The `data` of a GraphQL answer, or the error it stands for. */
export declare function readAnswer(answer: Answer): Record<string, unknown>;
