"""APIG App authentication (SDK-HMAC-SHA256), as the gateway verifies it.

One function per step of the algorithm (canonical URI, query, headers, request, string to sign,
signature), so that a signature the gateway refuses can be compared with its own trace step by
step (``logbot-gateway sign --verbose`` prints the same strings). It follows the official Python
signer (PyPI ``apigateway-sdk-python`` 1.0.0) byte for byte, including its quirks: ``+`` in the
query is a literal plus, the path always ends in ``/``, header values are trimmed.

Written here rather than taken from that package because the sending path must have no
third-party dependency, and the official signer keeps no intermediate strings to diagnose with.
"""

import hashlib
import hmac
import datetime
from typing import Dict, List, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
#: ``strftime`` format of ``X-Sdk-Date``.
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
#: A header whose value, when present, replaces the payload hash (``UNSIGNED-PAYLOAD``).
CONTENT_SHA256_HEADER = "x-sdk-content-sha256"


def encode_component(text: str) -> str:
    """Keep ``A-Za-z0-9-_.~``, encode every other UTF-8 byte as ``%XX`` (upper-case hex)."""
    return quote(text, safe="~")


def split_url(url: str) -> Tuple[str, str, str]:
    """``(authority, raw path, raw query)`` split as the reference splits a URL: scheme at
    ``://``, query at the first ``?``, authority up to the first ``/``."""
    rest = url.split("://", 1)[1] if "://" in url else url
    before_query, _, raw_query = rest.partition("?")
    host, slash, path = before_query.partition("/")
    return host, "/" + path if slash else "/", raw_query


def canonical_uri(raw_path: str) -> str:
    """Decode the path, encode each ``/``-separated segment, and end it with ``/``."""
    uri = "/".join(encode_component(segment) for segment in unquote(raw_path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(raw_query: str) -> str:
    """Pairs split on ``&`` and the first ``=``, empty keys dropped, decoded (``+`` stays a
    plus), sorted by key then value, encoded again; ``k=`` for an empty value."""
    pairs = []
    for pair in raw_query.split("&") if raw_query else []:
        key, _, value = pair.partition("=")
        if key:
            pairs.append((unquote(key), unquote(value)))
    pairs.sort()
    return "&".join(encode_component(k) + "=" + encode_component(v) for k, v in pairs)


def signed_header_names(headers: Mapping[str, str]) -> List[str]:
    """Every header's name, lower-cased and sorted."""
    return sorted(name.lower() for name in headers)


def canonical_headers(headers: Mapping[str, str], names: List[str]) -> str:
    """``name:trimmed value`` per signed name, each line ending in ``\\n``."""
    values = {name.lower(): value.strip() for name, value in headers.items()}
    return "".join(name + ":" + values[name] + "\n" for name in names)


def payload_hash(headers: Mapping[str, str], body: bytes) -> str:
    """Hex SHA-256 of the body, or the ``x-sdk-content-sha256`` header's value when set."""
    for name, value in headers.items():
        if name.lower() == CONTENT_SHA256_HEADER:
            return value.strip()
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str, raw_path: str, raw_query: str, headers: Mapping[str, str], body: bytes
) -> str:
    names = signed_header_names(headers)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(raw_query),
            canonical_headers(headers, names),
            ";".join(names),
            payload_hash(headers, body),
        ]
    )


def string_to_sign(sdk_date: str, request: str) -> str:
    digest = hashlib.sha256(request.encode("utf-8")).hexdigest()
    return ALGORITHM + "\n" + sdk_date + "\n" + digest


def signature(secret: str, to_sign: str) -> str:
    """Lower-case hex HMAC-SHA256 keyed with the secret's UTF-8 bytes."""
    key = secret.encode("utf-8")
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(key: str, names: List[str], sig: str) -> str:
    return "%s Access=%s, SignedHeaders=%s, Signature=%s" % (ALGORITHM, key, ";".join(names), sig)


def format_sdk_date(moment: Optional[datetime.datetime] = None) -> str:
    """``moment`` (default: now) in UTC as ``X-Sdk-Date``."""
    if moment is None:
        moment = datetime.datetime.now(datetime.timezone.utc)
    elif moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return moment.strftime(DATE_FORMAT)


class Signed(NamedTuple):
    """What signing produced: the headers to send and every intermediate string."""

    headers: Dict[str, str]
    signed_headers: str
    canonical_request: str
    string_to_sign: str
    signature: str


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    key: str,
    secret: str,
    now: Optional[datetime.datetime] = None,
) -> Signed:
    """Signs a request. ``headers`` are every header sent (as the reference, anything the HTTP
    library adds later, such as ``Content-Length``, is not signed). The returned headers are
    the given ones trimmed, plus ``X-Sdk-Date`` (unless given), ``host`` (the URL's authority,
    unless a Host header is given) and ``Authorization``."""
    out = dict(headers)
    date_name = next((n for n in out if n.lower() == "x-sdk-date"), None)
    if date_name is None:
        sdk_date = format_sdk_date(now)
        out["X-Sdk-Date"] = sdk_date
    else:
        given = out[date_name].strip()
        sdk_date = datetime.datetime.strptime(given, DATE_FORMAT).strftime(DATE_FORMAT)
    host, raw_path, raw_query = split_url(url)
    if not any(name.lower() == "host" for name in out):
        out["host"] = host
    out = {name: value.strip() for name, value in out.items()}
    request = canonical_request(method, raw_path, raw_query, out, body)
    to_sign = string_to_sign(sdk_date, request)
    sig = signature(secret, to_sign)
    names = signed_header_names(out)
    out["Authorization"] = authorization(key, names, sig)
    return Signed(out, ";".join(names), request, to_sign, sig)
