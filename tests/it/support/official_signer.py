"""Signs random requests with the official APIG signer (PyPI apigateway-sdk-python 1.0.0) and
prints one JSON object per line: the inputs and what the signer produced. The Rust test
`apig_official_signer` signs the same inputs and compares byte for byte."""

import json
import random
import sys

from apigateway_sdk_python import signer

captured = {}
_canonical_request = signer.CanonicalRequest
_string_to_sign = signer.StringToSign


def capture_canonical(r, signed_headers):
    captured["canonical_request"] = _canonical_request(r, signed_headers)
    return captured["canonical_request"]


def capture_string_to_sign(canonical, t):
    captured["string_to_sign"] = _string_to_sign(canonical, t)
    return captured["string_to_sign"]


signer.CanonicalRequest = capture_canonical
signer.StringToSign = capture_string_to_sign

PATH_CHARS = ["a", "Z", "0", "-", "_", ".", "~", " ", "+", "%20", "%2F", "%2f", "%25", "(", ")",
              "!", "*", "'", ",", ";", ":", "@", "&", "=", "$", "é", "ж", "😀", "%D0%96", "%FF",
              "%zz", "%", "//", "[", "]"]
QUERY_CHARS = PATH_CHARS + ["%26", "%3D", "+", "?", "/", "%2B"]
WS = [" ", "\t", "  ", "\u00a0", "\x1f", ""]


def word(rng, alphabet, lo, hi):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def random_request(rng):
    host = rng.choice(["api.example.com", "127.0.0.1:8081", "smapi.pv-api.sbc.space", "[::1]:9000", "h"])
    scheme = rng.choice(["https", "http"])
    path = "/" + "/".join(word(rng, PATH_CHARS, 0, 4) for _ in range(rng.randint(0, 4)))
    url = f"{scheme}://{host}{path.replace('?', '')}"
    if rng.random() < 0.7:
        pairs = []
        for _ in range(rng.randint(0, 5)):
            key = word(rng, QUERY_CHARS, 0, 3).replace("&", "").replace("=", "")
            kind = rng.random()
            if kind < 0.15:
                pairs.append(key)
            else:
                pairs.append(key + "=" + word(rng, QUERY_CHARS, 0, 4).replace("&", "%26"))
        url += "?" + "&".join(pairs)
    headers = {}
    for _ in range(rng.randint(0, 4)):
        name = rng.choice(["Content-Type", "x-stage", "X-Request-ID", "Accept", "X-Custom", "x-b", "X-A"])
        value = rng.choice(WS) + word(rng, ["a", "B", "1", " ", "/", ";", "=", "json"], 1, 6) + rng.choice(WS)
        headers[name] = value
    if rng.random() < 0.1:
        headers["X-Sdk-Content-Sha256"] = "UNSIGNED-PAYLOAD"
    if rng.random() < 0.1:
        headers["Host"] = "override.example:1234"
    body = "" if rng.random() < 0.3 else word(rng, ["{", "}", '"', "a", "é", "ж", " ", "\n", "😀", "1"], 0, 40)
    method = rng.choice(["GET", "POST", "put", "DELETE", "patch"])
    date = f"20{rng.randint(10, 39)}{rng.randint(1, 12):02}{rng.randint(1, 28):02}T{rng.randint(0, 23):02}{rng.randint(0, 59):02}{rng.randint(0, 59):02}Z"
    return method, url, headers, body, date


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    for _ in range(count):
        method, url, headers, body, date = random_request(rng)
        key = word(rng, ["a", "b", "1", "-"], 4, 12)
        secret = word(rng, ["x", "y", "2", "-", "é"], 4, 12)
        request = signer.HttpRequest(method, url, dict(headers, **{"X-Sdk-Date": date}), body)
        sig = signer.Signer()
        sig.Key, sig.Secret = key, secret
        sig.Sign(request)
        print(json.dumps({
            "method": method, "url": url, "headers": list(headers.items()), "body": body,
            "date": date, "key": key, "secret": secret,
            "canonical_request": captured["canonical_request"],
            "string_to_sign": captured["string_to_sign"],
            "authorization": request.headers["Authorization"],
        }, ensure_ascii=False))


if __name__ == "__main__":
    main()
