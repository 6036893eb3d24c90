export declare const ALGORITHM = "SDK-HMAC-SHA256";
/** A header whose value, when present, replaces the payload hash (`UNSIGNED-PAYLOAD`). */
export declare const CONTENT_SHA256_HEADER = "x-sdk-content-sha256";
/** Keep `A-Za-z0-9-_.~`; every other UTF-8 byte becomes `%XX` (upper-case hex). */
export declare function encodeComponent(text: string): string;
/** Python's `unquote`: valid `%XX` escapes decoded (others stay), bytes read as UTF-8 with
 * U+FFFD for invalid sequences; `+` is not a space. */
export declare function decodeComponent(text: string): string;
/** A header value as signed and sent: trimmed at both ends like Python's `str.strip()`. */
export declare function trimValue(value: string): string;
/** Code-point order (Python's `str` order), which UTF-16 comparison is not. */
export declare function comparePoints(a: string, b: string): number;
/** `[authority, raw path, raw query]` split like the reference: scheme at `://`, query at the
 * first `?`, authority up to the first `/`. */
export declare function splitUrl(url: string): [string, string, string];
/** Decode the path, encode each `/`-separated segment, end with `/`. */
export declare function canonicalUri(rawPath: string): string;
/** Pairs split on `&` and the first `=`, empty keys dropped, decoded, sorted by key then value,
 * encoded again; `k=` for an empty value. */
export declare function canonicalQuery(rawQuery: string): string;
export type Headers = Record<string, string>;
export declare function signedHeaderNames(headers: Headers): string[];
export declare function canonicalHeaders(headers: Headers, names: string[]): string;
export declare function payloadHash(headers: Headers, body: Uint8Array): string;
export declare function canonicalRequest(method: string, rawPath: string, rawQuery: string, headers: Headers, body: Uint8Array): string;
export declare function stringToSign(sdkDate: string, request: string): string;
/** Lower-case hex HMAC-SHA256 keyed with the secret's UTF-8 bytes. */
export declare function signature(secret: string, toSign: string): string;
export declare function authorization(key: string, names: string[], sig: string): string;
/** `X-Sdk-Date` for a moment (default now): `YYYYMMDDTHHMMSSZ` in UTC. */
export declare function formatSdkDate(moment?: Date): string;
export interface Signed {
    /** The headers to send: the given ones trimmed, plus `X-Sdk-Date`, `host`, `Authorization`. */
    headers: Headers;
    signedHeaders: string;
    canonicalRequest: string;
    stringToSign: string;
    signature: string;
}
/** Signs a request over the exact body bytes sent. Headers the HTTP library adds later
 * (`content-length`) are not signed, as with the reference. */
export declare function sign(method: string, url: string, headers: Headers, body: Uint8Array | string, key: string, secret: string, now?: Date): Signed;
