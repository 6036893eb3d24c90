"""The signer against every vector of the official signer, step by step."""

import unittest

from logbot_client import apig

from .support import load_vectors


class VectorTests(unittest.TestCase):
    def test_every_vector_matches_step_by_step(self) -> None:
        for vector in load_vectors():
            with self.subTest(vector["id"]):
                headers = dict(vector["headers_in"])
                headers["X-Sdk-Date"] = vector["x_sdk_date"]
                signed = apig.sign(
                    vector["method"], vector["url"], headers, vector["body"].encode("utf-8"), vector["key"], vector["secret"]
                )
                self.assertEqual(signed.canonical_request, vector["canonical_request"], "canonical request")
                self.assertEqual(signed.signed_headers, vector["signed_headers"], "signed headers")
                self.assertEqual(signed.string_to_sign, vector["string_to_sign"], "string to sign")
                self.assertEqual(signed.signature, vector["signature"], "signature")
                for name, value in vector["headers_out"].items():
                    if name == "content-length":
                        continue  # set by the HTTP library after signing, not signed
                    self.assertEqual(signed.headers.get(name), value, name)

    def test_the_date_is_added_when_absent_and_now(self) -> None:
        signed = apig.sign("GET", "http://h:1/x", {}, b"", "k", "s")
        self.assertRegex(signed.headers["X-Sdk-Date"], r"^\d{8}T\d{6}Z$")
        self.assertEqual(signed.headers["host"], "h:1")
        self.assertIn("SignedHeaders=host;x-sdk-date,", signed.headers["Authorization"])

    def test_the_steps_are_the_documented_ones(self) -> None:
        self.assertEqual(apig.canonical_uri("/a%2Fb/c d"), "/a/b/c%20d/")
        self.assertEqual(apig.canonical_query("b=2&a=3&a=1&c=&d&=x&a=10"), "a=1&a=10&a=3&b=2&c=&d=")
        self.assertEqual(apig.canonical_query("q=a+b"), "q=a%2Bb")
        self.assertEqual(apig.split_url("https://h:8443?x=1"), ("h:8443", "/", "x=1"))


if __name__ == "__main__":
    unittest.main()
