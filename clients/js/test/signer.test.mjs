import assert from "node:assert/strict";
import { test } from "node:test";
import { apig } from "../dist/index.js";
import { loadVectors } from "./support.mjs";

test("every vector of the official signer matches step by step", () => {
  for (const vector of loadVectors()) {
    const headers = { ...vector.headers_in, "X-Sdk-Date": vector.x_sdk_date };
    const signed = apig.sign(vector.method, vector.url, headers, vector.body, vector.key, vector.secret);
    assert.equal(signed.canonicalRequest, vector.canonical_request, `${vector.id}: canonical request`);
    assert.equal(signed.signedHeaders, vector.signed_headers, `${vector.id}: signed headers`);
    assert.equal(signed.stringToSign, vector.string_to_sign, `${vector.id}: string to sign`);
    assert.equal(signed.signature, vector.signature, `${vector.id}: signature`);
    for (const [name, value] of Object.entries(vector.headers_out)) {
      if (name === "content-length") continue; // set by the HTTP library after signing, not signed
      assert.equal(signed.headers[name], value, `${vector.id}: header ${name}`);
    }
  }
});

test("the steps behave as documented", () => {
  assert.equal(apig.canonicalUri("/a%2Fb/c d"), "/a/b/c%20d/");
  assert.equal(apig.canonicalUri("/%FF"), "/%EF%BF%BD/");
  assert.equal(apig.canonicalUri("/%zz%4"), "/%25zz%254/");
  assert.equal(apig.canonicalQuery("b=2&a=3&a=1&c=&d&=x&a=10"), "a=1&a=10&a=3&b=2&c=&d=");
  assert.equal(apig.canonicalQuery("q=a+b"), "q=a%2Bb");
  // Code-point order, not UTF-16 order: U+FF61 sorts before U+1F600.
  assert.equal(apig.canonicalQuery("k=%F0%9F%98%80&k=%EF%BD%A1"), "k=%EF%BD%A1&k=%F0%9F%98%80");
  assert.equal(apig.trimValue("\u001f a b\t\u00a0"), "a b");
  assert.deepEqual(apig.splitUrl("https://h:8443?x=1"), ["h:8443", "/", "x=1"]);
  const signed = apig.sign("GET", "http://h:1/x", {}, "", "k", "s");
  assert.match(signed.headers["X-Sdk-Date"], /^\d{8}T\d{6}Z$/);
  assert.equal(signed.headers.host, "h:1");
});
