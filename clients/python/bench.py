"""Benchmark: records/s from one process to the embedded gateway with batch 100, LogbotHandler
against posting the same batches with a bare HTTP client in the same run, and the cost of one
``logger.error(...)`` call in the application thread (against the same call with a NullHandler).

    python3 clients/python/bench.py [--records 20000] [--rounds 3] [--binary PATH]

The gateway is ``--binary``, else ``LOGBOT_TEST_BIN``, else ``target/release/logbot-gateway``
when built (``cargo build --release --locked``), else the debug build. Run from a checkout with
the package importable (``pip install ./clients/python`` or ``PYTHONPATH=clients/python/src``).
"""

import argparse
import http.client
import json
import logging
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE / "src"))

from tests import support  # noqa: E402  (the same spawning code as the tests)

import logbot_client  # noqa: E402
from logbot_client.sender import SEND_LOGS  # noqa: E402


def bare_post(port: int, bot: str, records: int, batch: int) -> float:
    """records/s posting ready-made batches with http.client on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    template = {"level": "INFO", "message": "", "eventAt": "2026-11-22T08:00:00.000Z",
                "source": {"pid": os.getpid(), "processName": "MainProcess"}}
    started = time.perf_counter()
    for first in range(0, records, batch):
        batch_records = [dict(template, message="bare %d" % i) for i in range(first, min(records, first + batch))]
        body = json.dumps({"query": SEND_LOGS, "variables": {"bot": bot, "records": batch_records, "key": uuid.uuid4().hex}})
        connection.request("POST", "/graphql", body=body.encode(), headers={"Content-Type": "application/json"})
        answer = connection.getresponse().read()
        if b'"errors"' in answer:
            raise SystemExit("bare POST refused: %s" % answer[:300])
    elapsed = time.perf_counter() - started
    connection.close()
    return records / elapsed


def through_handler(url: str, bot: str, records: int, batch: int) -> float:
    """records/s from the first logger.info() to flush() returning."""
    handler = logbot_client.LogbotHandler(url, bot, batch_size=batch, max_queue=records + 1, flush_interval=0.05)
    logger = logging.getLogger("bench.handler.%s" % uuid.uuid4().hex)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    started = time.perf_counter()
    for i in range(records):
        logger.info("handler %d", i)
    if not handler.flush(600):
        raise SystemExit("the handler did not drain")
    elapsed = time.perf_counter() - started
    if handler.sent != records:
        raise SystemExit("sent %d of %d" % (handler.sent, records))
    handler.close()
    return records / elapsed


def call_cost(handler: logging.Handler, calls: int) -> Tuple[float, float]:
    """Median and p99 of one logger.error() call, in microseconds."""
    logger = logging.getLogger("bench.cost.%s" % uuid.uuid4().hex)
    logger.propagate = False
    logger.addHandler(handler)
    costs = []
    clock = time.perf_counter_ns
    for i in range(calls):
        started = clock()
        logger.error("payment %s failed", i)
        costs.append(clock() - started)
    costs.sort()
    return statistics.median(costs) / 1000.0, costs[int(len(costs) * 0.99)] / 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--binary")
    args = parser.parse_args()
    release = support.REPO / "target" / "release" / "logbot-gateway"
    binary = args.binary or os.environ.get("LOGBOT_TEST_BIN") or (str(release) if release.exists() else None)
    if binary:
        os.environ["LOGBOT_TEST_BIN"] = binary
    gateway = support.Gateway().start()
    try:
        print("gateway: %s" % support.binary())
        print("python:  %s" % sys.version.split()[0])
        bare, handled = [], []
        for round_ in range(args.rounds):
            for name, runs, run in (("bare", bare, bare_post), ("handler", handled, through_handler)):
                bot = "bench-%s-%d" % (name, round_)
                gateway.register_bot(bot)
                runs.append(run(gateway.port, bot, args.records, args.batch) if run is bare_post
                            else run(gateway.url, bot, args.records, args.batch))
        gateway.register_bot("bench-cost")
        handler = logbot_client.LogbotHandler(gateway.url, "bench-cost", max_queue=args.calls + 1)
        cost, cost_p99 = call_cost(handler, args.calls)
        handler.flush(600)
        handler.close()
        null_cost, null_p99 = call_cost(logging.NullHandler(), args.calls)
        b, h = statistics.median(bare), statistics.median(handled)
        print("records/s, batch %d, %d records, median of %d rounds:" % (args.batch, args.records, args.rounds))
        print("  bare http.client POST   %10.0f   (runs: %s)" % (b, ", ".join("%.0f" % x for x in bare)))
        print("  LogbotHandler           %10.0f   (runs: %s)  = %.2fx the bare POST" % (h, ", ".join("%.0f" % x for x in handled), h / b))
        print("logger.error() in the application thread, %d calls:" % args.calls)
        print("  with LogbotHandler      median %.2f us, p99 %.2f us" % (cost, cost_p99))
        print("  with NullHandler        median %.2f us, p99 %.2f us  (logging's own cost)" % (null_cost, null_p99))
    finally:
        gateway.close()


if __name__ == "__main__":
    main()
