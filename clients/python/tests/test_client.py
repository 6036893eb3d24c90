"""Client through the real gateway binary: send, read back, errors, subscribe."""

import asyncio
import datetime
import unittest
from typing import List

import logbot_client
from logbot_client import Client

from .support import Gateway

try:
    import websockets  # noqa: F401

    HAVE_WEBSOCKETS = True
except ImportError:
    HAVE_WEBSOCKETS = False


class ClientTests(unittest.TestCase):
    gateway = None  # type: Gateway

    @classmethod
    def setUpClass(cls) -> None:
        cls.gateway = Gateway().start()
        cls.gateway.register_bot("client")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.gateway.close()

    def client(self) -> Client:
        client = Client(self.gateway.base)  # the base URL: /graphql is added
        self.addCleanup(client.close)
        return client

    def test_send_logs_returns_the_ids_and_the_same_key_stores_once(self) -> None:
        client = self.client()
        self.gateway.register_bot("idempotent")
        records = [
            {"level": "INFO", "message": "first"},
            {"level": 40, "message": "second", "request_id": "RP-1", "status_code": 502,
             "event_at": datetime.datetime(2026, 1, 2, 3, 4, 5, 678000), "source": {"process_name": "billing", "pid": 7},
             "attributes": {"order": 42, "when": datetime.date(2026, 1, 2)}},
        ]
        ids = client.send_logs("idempotent", records, idempotency_key="batch-1")
        self.assertEqual(len(ids), 2)
        self.assertEqual(client.send_logs("idempotent", records, idempotency_key="batch-1"), ids)
        stored = self.gateway.records("idempotent")
        self.assertEqual([r["id"] for r in stored], ids)
        second = stored[1]
        self.assertEqual((second["level"], second["requestId"], second["statusCode"]), ("ERROR", "RP-1", 502))
        self.assertEqual(second["eventAt"], "2026-01-02T03:04:05.678Z")
        self.assertEqual(second["source"]["processName"], "billing")
        self.assertEqual(second["attributes"], {"order": 42, "when": "2026-01-02"})

    def test_send_log_and_logs_with_filters_and_pages(self) -> None:
        client = self.client()
        self.gateway.register_bot("paged")
        for i in range(7):
            client.send_log("paged", "ERROR" if i % 2 else "INFO", "message %d" % i, request_id="RQ%d" % (i % 3))
        page = client.logs("paged", first=3)
        self.assertEqual([r.message for r in page.records], ["message 6", "message 5", "message 4"])
        self.assertTrue(page.has_next_page)
        self.assertEqual(page.total_count, 7)
        rest = client.logs("paged", first=10, after=page.end_cursor)
        self.assertEqual([r.message for r in rest.records], ["message %d" % i for i in (3, 2, 1, 0)])
        self.assertEqual([r.message for r in client.iter_logs("paged", page_size=2)], ["message %d" % i for i in range(6, -1, -1)])
        errors = client.logs("paged", min_level="ERROR")
        self.assertEqual([r.message for r in errors.records], ["message 5", "message 3", "message 1"])
        self.assertEqual([r.message for r in client.logs("paged", request_id="RQ0").records], ["message 6", "message 3", "message 0"])
        self.assertEqual([r.message for r in client.logs("paged", contains="age 4").records], ["message 4"])
        first = errors.records[0]
        self.assertEqual((first.level, first.bot, first.request_id), ("ERROR", "paged", "RQ2"))
        self.assertIsInstance(first.event_at, datetime.datetime)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertEqual(client.logs("paged", since=now + datetime.timedelta(hours=1)).records, [])
        self.assertEqual(len(client.logs("paged", until=now + datetime.timedelta(hours=1)).records), 7)

    def test_errors_are_typed_and_carry_the_code(self) -> None:
        client = self.client()
        with self.assertRaises(logbot_client.NotFoundError) as missing:
            client.send_log("no-such-bot", "INFO", "x")
        self.assertEqual(missing.exception.code, "NOT_FOUND")
        with self.assertRaises(logbot_client.BadInputError) as bad:
            client.send_logs("client", [{"level": "INFO", "message": "ok"}, {"level": "INFO", "message": "   "}])
        self.assertEqual((bad.exception.code, bad.exception.field), ("BAD_USER_INPUT", "records[1].message"))
        with self.assertRaises(logbot_client.BadInputError) as page:
            client.logs("client", first=501)
        self.assertEqual(page.exception.field, "first")
        with self.assertRaises(ValueError):
            client.send_log("client", "LOUD", "x")
        self.assertEqual(self.gateway.count("client"), 0, "nothing of a refused batch was stored")

    def test_an_unreachable_gateway_is_a_transport_error_after_the_retries(self) -> None:
        from .support import free_port

        with Client("http://127.0.0.1:%d" % free_port(), retries=1, timeout=1.0) as client:
            with self.assertRaises(logbot_client.TransportError) as caught:
                client.send_log("client", "INFO", "x")
        self.assertTrue(caught.exception.retryable)

    @unittest.skipUnless(HAVE_WEBSOCKETS, "needs the subscribe extra (websockets)")
    def test_subscribe_receives_a_record_sent_after_it_subscribed(self) -> None:
        self.gateway.register_bot("live")
        client = self.client()
        received = asyncio.run(_first_live_record(client, "live", "WARNING"))
        self.assertEqual(received.level, "ERROR")
        self.assertTrue(received.message.startswith("live "), received)
        self.assertEqual(received.bot, "live")


async def _first_live_record(client: Client, bot: str, min_level: str) -> logbot_client.StoredLog:
    """Subscribes, then sends records (an INFO below min_level and an ERROR each round) until
    one arrives: the server has no "subscribed" acknowledgement to wait for instead."""
    records = client.subscribe(bot, min_level=min_level)
    first = asyncio.ensure_future(records.__anext__())
    sent = []  # type: List[str]
    try:
        for round_ in range(100):
            if first.done():
                break
            message = "live %d" % round_
            await asyncio.get_event_loop().run_in_executor(
                None, lambda: client.send_logs(bot, [{"level": "INFO", "message": "quiet"}, {"level": "ERROR", "message": message}])
            )
            sent.append(message)
            await asyncio.wait([first], timeout=0.2)
        record = await asyncio.wait_for(first, 10)
        assert record.message in sent, (record, sent)
        return record
    finally:
        await records.aclose()  # type: ignore[attr-defined]


class SignedClientTests(unittest.TestCase):
    def test_signed_calls_and_a_signed_subscription(self) -> None:
        gateway = Gateway(app_key="client-app", app_secret="client-secret").start()
        self.addCleanup(gateway.close)
        gateway.register_bot("signed-live")
        with Client(gateway.url, app_key="client-app", app_secret="client-secret") as client:
            client.send_log("signed-live", "INFO", "signed call")
            self.assertEqual([r.message for r in client.logs("signed-live").records], ["signed call"])
            if HAVE_WEBSOCKETS:
                received = asyncio.run(_first_live_record(client, "signed-live", "ERROR"))
                self.assertTrue(received.message.startswith("live "))
        with Client(gateway.url, app_key="client-app", app_secret="wrong") as wrong:
            with self.assertRaises(logbot_client.AuthenticationError):
                wrong.logs("signed-live")
            if HAVE_WEBSOCKETS:
                with self.assertRaises(logbot_client.AuthenticationError):
                    asyncio.run(wrong.subscribe("signed-live").__anext__())


if __name__ == "__main__":
    unittest.main()
