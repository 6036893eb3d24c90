/**
 * APIG App authentication (SDK-HMAC-SHA256), as the gateway verifies it.
 *
 * One function per step (canonical URI, query, headers, request, string to sign, signature), so
 * a signature the gateway refuses can be compared with `logbot-gateway sign --verbose` step by
 * step. It follows the official Python signer (PyPI `apigateway-sdk-python` 1.0.0) byte for
 * byte, quirks included: `+` in the query is a literal plus, the path always ends in `/`, header
 * values are trimmed with Python's notion of white space, strings sort by code point.
 * Written here because no npm package implements this algorithm.
 */
import { createHash, createHmac } from "node:crypto";
export const ALGORITHM = "SDK-HMAC-SHA256";
/** A header whose value, when present, replaces the payload hash (`UNSIGNED-PAYLOAD`). */
export const CONTENT_SHA256_HEADER = "x-sdk-content-sha256";
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });
const HEX = "0123456789ABCDEF";
function isUnreserved(byte) {
    return ((byte >= 0x30 && byte <= 0x39) ||
        (byte >= 0x41 && byte <= 0x5a) ||
        (byte >= 0x61 && byte <= 0x7a) ||
        byte === 0x2d ||
        byte === 0x2e ||
        byte === 0x5f ||
        byte === 0x7e);
}
/** Keep `A-Za-z0-9-_.~`; every other UTF-8 byte becomes `%XX` (upper-case hex). */
export function encodeComponent(text) {
    let out = "";
    for (const byte of encoder.encode(text)) {
        out += isUnreserved(byte) ? String.fromCharCode(byte) : "%" + HEX[byte >> 4] + HEX[byte & 15];
    }
    return out;
}
function hexValue(code) {
    if (code >= 0x30 && code <= 0x39)
        return code - 0x30;
    if (code >= 0x41 && code <= 0x46)
        return code - 0x41 + 10;
    if (code >= 0x61 && code <= 0x66)
        return code - 0x61 + 10;
    return -1;
}
/** Python's `unquote`: valid `%XX` escapes decoded (others stay), bytes read as UTF-8 with
 * U+FFFD for invalid sequences; `+` is not a space. */
export function decodeComponent(text) {
    if (!text.includes("%"))
        return text;
    const bytes = [];
    for (let i = 0; i < text.length;) {
        if (text[i] === "%" && i + 2 < text.length) {
            const hi = hexValue(text.charCodeAt(i + 1));
            const lo = hexValue(text.charCodeAt(i + 2));
            if (hi >= 0 && lo >= 0) {
                bytes.push((hi << 4) | lo);
                i += 3;
                continue;
            }
        }
        const point = text.codePointAt(i);
        const char = String.fromCodePoint(point);
        for (const byte of encoder.encode(char))
            bytes.push(byte);
        i += char.length;
    }
    return decoder.decode(new Uint8Array(bytes));
}
/** Python's `str.isspace()`: Unicode White_Space plus the separators U+001C..U+001F. */
function isPythonSpace(code) {
    return ((code >= 0x09 && code <= 0x0d) ||
        (code >= 0x1c && code <= 0x20) ||
        code === 0x85 ||
        code === 0xa0 ||
        code === 0x1680 ||
        (code >= 0x2000 && code <= 0x200a) ||
        code === 0x2028 ||
        code === 0x2029 ||
        code === 0x202f ||
        code === 0x205f ||
        code === 0x3000);
}
/** A header value as signed and sent: trimmed at both ends like Python's `str.strip()`. */
export function trimValue(value) {
    let start = 0;
    let end = value.length;
    while (start < end && isPythonSpace(value.charCodeAt(start)))
        start++;
    while (end > start && isPythonSpace(value.charCodeAt(end - 1)))
        end--;
    return value.slice(start, end);
}
/** Code-point order (Python's `str` order), which UTF-16 comparison is not. */
export function comparePoints(a, b) {
    return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
/** `[authority, raw path, raw query]` split like the reference: scheme at `://`, query at the
 * first `?`, authority up to the first `/`. */
export function splitUrl(url) {
    const schemeAt = url.indexOf("://");
    const rest = schemeAt >= 0 ? url.slice(schemeAt + 3) : url;
    const queryAt = rest.indexOf("?");
    const beforeQuery = queryAt >= 0 ? rest.slice(0, queryAt) : rest;
    const rawQuery = queryAt >= 0 ? rest.slice(queryAt + 1) : "";
    const slashAt = beforeQuery.indexOf("/");
    if (slashAt < 0)
        return [beforeQuery, "/", rawQuery];
    return [beforeQuery.slice(0, slashAt), beforeQuery.slice(slashAt), rawQuery];
}
/** Decode the path, encode each `/`-separated segment, end with `/`. */
export function canonicalUri(rawPath) {
    const uri = decodeComponent(rawPath).split("/").map(encodeComponent).join("/");
    return uri.endsWith("/") ? uri : uri + "/";
}
/** Pairs split on `&` and the first `=`, empty keys dropped, decoded, sorted by key then value,
 * encoded again; `k=` for an empty value. */
export function canonicalQuery(rawQuery) {
    if (!rawQuery)
        return "";
    const pairs = [];
    for (const pair of rawQuery.split("&")) {
        const eq = pair.indexOf("=");
        const key = eq >= 0 ? pair.slice(0, eq) : pair;
        const value = eq >= 0 ? pair.slice(eq + 1) : "";
        if (key)
            pairs.push([decodeComponent(key), decodeComponent(value)]);
    }
    pairs.sort((a, b) => comparePoints(a[0], b[0]) || comparePoints(a[1], b[1]));
    return pairs.map(([k, v]) => encodeComponent(k) + "=" + encodeComponent(v)).join("&");
}
export function signedHeaderNames(headers) {
    return Object.keys(headers)
        .map((name) => name.toLowerCase())
        .sort(comparePoints);
}
export function canonicalHeaders(headers, names) {
    const values = new Map();
    for (const [name, value] of Object.entries(headers))
        values.set(name.toLowerCase(), trimValue(value));
    return names.map((name) => name + ":" + values.get(name) + "\n").join("");
}
export function payloadHash(headers, body) {
    for (const [name, value] of Object.entries(headers)) {
        if (name.toLowerCase() === CONTENT_SHA256_HEADER)
            return trimValue(value);
    }
    return createHash("sha256").update(body).digest("hex");
}
export function canonicalRequest(method, rawPath, rawQuery, headers, body) {
    const names = signedHeaderNames(headers);
    return [
        method.toUpperCase(),
        canonicalUri(rawPath),
        canonicalQuery(rawQuery),
        canonicalHeaders(headers, names),
        names.join(";"),
        payloadHash(headers, body),
    ].join("\n");
}
export function stringToSign(sdkDate, request) {
    return ALGORITHM + "\n" + sdkDate + "\n" + createHash("sha256").update(request, "utf8").digest("hex");
}
/** Lower-case hex HMAC-SHA256 keyed with the secret's UTF-8 bytes. */
export function signature(secret, toSign) {
    return createHmac("sha256", Buffer.from(secret, "utf8")).update(toSign, "utf8").digest("hex");
}
export function authorization(key, names, sig) {
    return `${ALGORITHM} Access=${key}, SignedHeaders=${names.join(";")}, Signature=${sig}`;
}
/** `X-Sdk-Date` for a moment (default now): `YYYYMMDDTHHMMSSZ` in UTC. */
export function formatSdkDate(moment = new Date()) {
    return moment.toISOString().replace(/\.\d{3}/, "").replace(/[-:]/g, "");
}
/** Signs a request over the exact body bytes sent. Headers the HTTP library adds later
 * (`content-length`) are not signed, as with the reference. */
export function sign(method, url, headers, body, key, secret, now) {
    const bytes = typeof body === "string" ? encoder.encode(body) : body;
    const out = { ...headers };
    const dateName = Object.keys(out).find((name) => name.toLowerCase() === "x-sdk-date");
    let sdkDate;
    if (dateName === undefined) {
        sdkDate = formatSdkDate(now);
        out["X-Sdk-Date"] = sdkDate;
    }
    else {
        sdkDate = trimValue(out[dateName]);
        if (!/^\d{8}T\d{6}Z$/.test(sdkDate))
            throw new Error(`X-Sdk-Date ${JSON.stringify(sdkDate)} is not YYYYMMDDTHHMMSSZ`);
    }
    const [host, rawPath, rawQuery] = splitUrl(url);
    if (!Object.keys(out).some((name) => name.toLowerCase() === "host"))
        out["host"] = host;
    for (const name of Object.keys(out))
        out[name] = trimValue(out[name]);
    const request = canonicalRequest(method, rawPath, rawQuery, out, bytes);
    const toSign = stringToSign(sdkDate, request);
    const sig = signature(secret, toSign);
    const names = signedHeaderNames(out);
    out["Authorization"] = authorization(key, names, sig);
    return { headers: out, signedHeaders: names.join(";"), canonicalRequest: request, stringToSign: toSign, signature: sig };
}
