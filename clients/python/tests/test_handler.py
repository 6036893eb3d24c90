"""LogbotHandler through the real gateway binary (embedded DataSpace)."""

import collections
import logging
import os
import subprocess
import sys
import threading
import time
import unittest
import warnings
from typing import Any, List, Tuple

import logbot_client
from logbot_client import LogbotHandler

from .proxy import AnswerLosingProxy
from .support import Gateway, free_port, wait_until

_counter = [0]


def fresh_logger(handler: logging.Handler) -> logging.Logger:
    _counter[0] += 1
    logger = logging.getLogger("logbot-client-tests.%d" % _counter[0])
    logger.propagate = False
    logger.setLevel(1)
    logger.addHandler(handler)
    return logger


def assert_each_once(test: unittest.TestCase, stored: List[str], expected: List[str]) -> None:
    counts = collections.Counter(stored)
    twice = [m for m, n in counts.items() if n > 1]
    missing = [m for m in expected if m not in counts]
    test.assertEqual(twice, [], "stored more than once")
    test.assertEqual(missing, [], "not stored")
    test.assertEqual(len(stored), len(expected))


class HandlerTests(unittest.TestCase):
    gateway = None  # type: Gateway

    @classmethod
    def setUpClass(cls) -> None:
        cls.gateway = Gateway().start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.gateway.close()

    def handler(self, bot: str, **options: Any) -> LogbotHandler:
        handler = LogbotHandler(self.gateway.url, bot, **options)
        self.addCleanup(handler.close, 5.0)
        return handler

    def test_five_threads_of_a_thousand_records_are_stored_once_each(self) -> None:
        self.gateway.register_bot("five-threads")
        handler = self.handler("five-threads", batch_size=100)
        logger = fresh_logger(handler)

        def produce(thread: int) -> None:
            for i in range(1000):
                logger.info("thread %d record %d", thread, i)

        threads = [threading.Thread(target=produce, args=(t,)) for t in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        handler.close(timeout=120)
        self.assertEqual((handler.dropped, handler.failed, handler.unsent), (0, 0, 0))
        self.assertEqual(handler.sent, 5000)
        expected = ["thread %d record %d" % (t, i) for t in range(5) for i in range(1000)]
        assert_each_once(self, self.gateway.messages("five-threads"), expected)

    def test_answers_lost_after_the_commit_are_retried_with_the_same_key(self) -> None:
        self.gateway.register_bot("lost-answers")
        proxy = AnswerLosingProxy(self.gateway.port, lose=4)
        self.addCleanup(proxy.close)
        handler = self.handler("lost-answers", batch_size=10, flush_interval=0.05, retry_base=0.05, retry_cap=0.2)
        logger = fresh_logger(handler)
        # Point the handler at the proxy (the same gateway behind it).
        handler._sender._transport = logbot_client.transport.HttpTransport(proxy.url)
        expected = ["lost answer test %d" % i for i in range(60)]
        for message in expected:
            logger.info(message)
        self.assertTrue(handler.flush(60))
        self.assertEqual(proxy.lost, 4, "the proxy cut off four answers")
        assert_each_once(self, self.gateway.messages("lost-answers"), expected)
        self.assertEqual(handler.sent, 60)

    def test_a_gateway_that_accepts_and_never_answers_is_timed_out_and_retried_once_stored(self) -> None:
        self.gateway.register_bot("held-answers")
        # The gateway commits each of the first three batches, and its answer never comes: the
        # connection stays open. Only the client's timeout ends the wait.
        proxy = AnswerLosingProxy(self.gateway.port, lose=3, hold=True)
        self.addCleanup(proxy.close)
        handler = LogbotHandler(
            proxy.url, "held-answers", timeout=0.5, batch_size=10, flush_interval=0.05, retry_base=0.05, retry_cap=0.2
        )
        self.addCleanup(handler.close, 5.0)
        logger = fresh_logger(handler)
        expected = ["held answer test %d" % i for i in range(40)]
        for message in expected:
            logger.info(message)
        self.assertTrue(handler.flush(60))
        self.assertEqual(proxy.lost, 3, "the proxy held three answers")
        assert_each_once(self, self.gateway.messages("held-answers"), expected)
        self.assertEqual((handler.sent, handler.failed, handler.dropped), (40, 0, 0))

    def test_an_unknown_bot_is_reported_once_and_the_next_batch_still_goes(self) -> None:
        reports = []  # type: List[Tuple[Exception, int]]
        handler = self.handler("not-yet-registered", on_error=lambda error, count: reports.append((error, count)))
        logger = fresh_logger(handler)
        logger.error("before the bot exists")
        self.assertTrue(handler.flush(30))
        self.assertEqual(len(reports), 1, reports)
        error, count = reports[0]
        self.assertIsInstance(error, logbot_client.NotFoundError)
        self.assertEqual((error.code, count), ("NOT_FOUND", 1))
        self.gateway.register_bot("not-yet-registered")
        logger.error("after registration")
        self.assertTrue(handler.flush(30))
        self.assertEqual(len(reports), 1, "the next batch went through")
        self.assertEqual(self.gateway.messages("not-yet-registered"), ["after registration"])
        self.assertEqual((handler.sent, handler.failed), (1, 1))

    def test_without_on_error_a_refusal_is_one_warning_however_often_it_repeats(self) -> None:
        handler = self.handler("never-registered")
        logger = fresh_logger(handler)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i in range(3):
                logger.error("refused %d", i)
                self.assertTrue(handler.flush(30))
        ours = [w for w in caught if issubclass(w.category, logbot_client.LogbotWarning)]
        self.assertEqual(len(ours), 1, [str(w.message) for w in ours])
        self.assertIn("never-registered", str(ours[0].message))
        self.assertIn("NOT_FOUND", str(ours[0].message))
        self.assertEqual(handler.failed, 3)

    def test_a_record_the_gateway_refuses_costs_only_that_record(self) -> None:
        self.gateway.register_bot("one-bad-record")
        reports = []  # type: List[Tuple[Exception, int]]
        # A message limit above the gateway's lets one record through that the gateway refuses.
        handler = self.handler(
            "one-bad-record", flush_interval=60, max_message_chars=20000, on_error=lambda e, n: reports.append((e, n))
        )
        logger = fresh_logger(handler)
        logger.info("good 1")
        logger.info("x" * 17000)
        logger.info("good 2")
        self.assertTrue(handler.flush(30))
        self.assertEqual(self.gateway.messages("one-bad-record"), ["good 1", "good 2"])
        self.assertEqual(len(reports), 1)
        self.assertEqual(reports[0][0].field, "records[1].message")

    def test_a_full_queue_drops_counts_and_warns_once_without_blocking(self) -> None:
        # Nothing listens on this port: every batch fails and stays queued.
        handler = LogbotHandler("http://127.0.0.1:%d" % free_port(), "nowhere", max_queue=10, batch_size=5, flush_interval=0.01)
        logger = fresh_logger(handler)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            started = time.monotonic()
            for i in range(1000):
                logger.error("record %d", i)
            elapsed = time.monotonic() - started
            wait_until(lambda: any(issubclass(w.category, logbot_client.LogbotWarning) for w in caught), 30, "the warning")
            self.assertFalse(handler.flush(0.2))
            handler.close(timeout=0.2)
        self.assertLess(elapsed, 10.0, "emit never waits for the network")
        self.assertGreaterEqual(handler.dropped, 1000 - 10 - 5)
        self.assertEqual(handler.sent, 0)
        dropped = [w for w in caught if "full" in str(w.message)]
        self.assertEqual(len(dropped), 1, [str(w.message) for w in caught])
        self.assertGreater(handler.unsent, 0)

    def test_a_record_maps_fully(self) -> None:
        self.gateway.register_bot("mapping")
        handler = self.handler("mapping", flush_interval=60, source={"userName": "svc-billing"})
        logger = fresh_logger(handler)
        logger.log(5, "below debug")
        logger.debug("debug")
        logger.log(25, "between info and warning")
        logger.warning("warning %s", "with args")
        logger.log(45, "between error and critical")
        logger.critical("critical")
        with logbot_client.request_context("RP-ctx"):
            logger.info("from the context")
        logger.info("from extra", extra={"request_id": "RP-extra", "status_code": 502, "order": {"id": 42, "tags": ("a", "b")}, "when": time, "ratio": float("nan")})
        try:
            {}["missing"]
        except KeyError:
            logger.exception("it broke: %d", 7)
        before = time.time()
        self.assertTrue(handler.flush(30))
        records = self.gateway.records("mapping")
        self.assertEqual(
            [(r["level"], r["message"].split("\n")[0]) for r in records],
            [
                ("DEBUG", "below debug"),
                ("DEBUG", "debug"),
                ("INFO", "between info and warning"),
                ("WARNING", "warning with args"),
                ("ERROR", "between error and critical"),
                ("CRITICAL", "critical"),
                ("INFO", "from the context"),
                ("INFO", "from extra"),
                ("ERROR", "it broke: 7"),
            ],
        )
        context, extra, failure = records[6], records[7], records[8]
        self.assertEqual(context["requestId"], "RP-ctx")
        self.assertIsNone(records[0]["requestId"])
        self.assertEqual(extra["requestId"], "RP-extra")
        self.assertEqual(extra["statusCode"], 502)
        self.assertEqual(extra["attributes"]["order"], {"id": 42, "tags": ["a", "b"]})
        self.assertEqual(extra["attributes"]["ratio"], "nan")
        self.assertTrue(extra["attributes"]["when"].startswith("<module 'time'"))
        self.assertIn("Traceback (most recent call last)", failure["message"])
        self.assertIn("KeyError: 'missing'", failure["message"])
        source = failure["source"]
        self.assertEqual(source["pid"], os.getpid())
        self.assertEqual(source["processName"], "MainProcess")
        self.assertEqual(source["userName"], "svc-billing")
        self.assertIn("logger logbot-client-tests.", source["processDescription"])
        self.assertIn("thread MainThread", source["processDescription"])
        # eventAt is the record's creation time, in UTC, to the millisecond.
        import datetime

        at = datetime.datetime.strptime(failure["eventAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        self.assertLess(abs(at.timestamp() - before), 5.0)

    def test_emit_never_raises_into_the_application(self) -> None:
        self.gateway.register_bot("bad-format")
        handler = self.handler("bad-format")
        logger = fresh_logger(handler)
        stderr = sys.stderr
        try:
            sys.stderr = open(os.devnull, "w")
            logger.info("%d", "not a number")  # handleError reports it; nothing raises
        finally:
            sys.stderr.close()
            sys.stderr = stderr
        logger.info("still logging")
        self.assertTrue(handler.flush(30))
        self.assertEqual(self.gateway.messages("bad-format"), ["still logging"])

    @unittest.skipUnless(hasattr(os, "fork"), "needs os.fork")
    def test_a_forked_child_sends_with_its_own_thread_and_not_its_parents_records(self) -> None:
        self.gateway.register_bot("forked")
        handler = self.handler("forked", flush_interval=60)
        logger = fresh_logger(handler)
        logger.info("parent before the fork")  # queued, not sent yet (long interval)
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                logger.info("child")
                code = 0 if handler.flush(30) and handler.sent == 1 else 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.WEXITSTATUS(status), 0, "the child sent its record")
        logger.info("parent after the fork")
        self.assertTrue(handler.flush(30))
        self.assertEqual(sorted(self.gateway.messages("forked")), ["child", "parent after the fork", "parent before the fork"])

    def test_logging_shutdown_at_exit_sends_what_is_queued(self) -> None:
        self.gateway.register_bot("at-exit")
        script = (
            "import logging, logbot_client\n"
            "h = logbot_client.LogbotHandler(%r, 'at-exit', flush_interval=3600)\n"
            "logging.getLogger().addHandler(h)\n"
            "logging.getLogger().setLevel(logging.INFO)\n"
            "for i in range(50): logging.info('queued at exit %%d', i)\n"
        ) % self.gateway.url
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
        assert_each_once(self, self.gateway.messages("at-exit"), ["queued at exit %d" % i for i in range(50)])


class KilledGatewayTests(unittest.TestCase):
    def test_a_gateway_killed_mid_stream_and_restarted_stores_every_record_once(self) -> None:
        gateway = Gateway().start()
        self.addCleanup(gateway.close)
        gateway.register_bot("steady")
        handler = LogbotHandler(gateway.url, "steady", batch_size=20, flush_interval=0.05, retry_base=0.05, retry_cap=1.0)
        self.addCleanup(handler.close, 5.0)
        logger = fresh_logger(handler)
        total = 1500
        expected = ["steady %d" % i for i in range(total)]

        def produce() -> None:
            for message in expected:
                logger.info(message)
                time.sleep(0.002)

        producer = threading.Thread(target=produce)
        producer.start()
        wait_until(lambda: gateway.count("steady") >= 200, 60, "200 records stored")
        gateway.kill()
        killed_at = handler.sent
        time.sleep(0.5)
        gateway.start()
        producer.join()
        self.assertTrue(handler.flush(90), "everything sent after the restart")
        self.assertLess(killed_at, total, "killed in the middle of the stream")
        assert_each_once(self, gateway.messages("steady"), expected)
        self.assertEqual((handler.sent, handler.failed, handler.dropped), (total, 0, 0))


class SignedModeTests(unittest.TestCase):
    gateway = None  # type: Gateway

    @classmethod
    def setUpClass(cls) -> None:
        cls.gateway = Gateway(app_key="app-under-test", app_secret="the-right-secret").start()
        cls.gateway.register_bot("signed")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.gateway.close()

    def test_records_signed_with_the_app_key_arrive(self) -> None:
        handler = LogbotHandler(self.gateway.url, "signed", app_key="app-under-test", app_secret="the-right-secret")
        self.addCleanup(handler.close, 5.0)
        logger = fresh_logger(handler)
        for i in range(30):
            logger.warning("signed %d", i)
        self.assertTrue(handler.flush(30))
        self.assertEqual(handler.sent, 30)
        self.assertEqual(
            [m for m in self.gateway.messages("signed") if m.startswith("signed ")], ["signed %d" % i for i in range(30)]
        )

    def test_a_wrong_secret_stores_nothing_reports_and_the_application_keeps_running(self) -> None:
        reports = []  # type: List[Tuple[Exception, int]]
        handler = LogbotHandler(
            self.gateway.url, "signed", app_key="app-under-test", app_secret="a-wrong-secret",
            on_error=lambda e, n: reports.append((e, n)),
        )
        self.addCleanup(handler.close, 5.0)
        logger = fresh_logger(handler)
        before = self.gateway.count("signed")
        for i in range(10):
            logger.error("wrong secret %d", i)
        self.assertTrue(handler.flush(30), "refused, not stuck retrying")
        self.assertEqual(self.gateway.count("signed"), before)
        self.assertEqual(handler.failed, 10)
        self.assertTrue(reports)
        error = reports[0][0]
        self.assertIsInstance(error, logbot_client.AuthenticationError)
        self.assertEqual((error.status, error.code), (401, "APIG.0301"))

    def test_unsigned_is_refused(self) -> None:
        with logbot_client.Client(self.gateway.url) as client:
            with self.assertRaises(logbot_client.AuthenticationError):
                client.send_log("signed", "INFO", "unsigned")


if __name__ == "__main__":
    unittest.main()
