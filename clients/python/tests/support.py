"""The real gateway binary for the tests: built or located like the Rust tests do
(``LOGBOT_TEST_BIN``, else ``target/debug/logbot-gateway`` after ``cargo build --locked``),
spawned on a free loopback port with a temporary data directory (the embedded DataSpace)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

from logbot_client import apig

REPO = Path(__file__).resolve().parents[3]
ADMIN = "client-tests-admin"
_BUILD_LOCK = threading.Lock()
_built = None  # type: Optional[Path]


def binary() -> Path:
    """The gateway binary under test."""
    global _built
    given = os.environ.get("LOGBOT_TEST_BIN")
    if given:
        return Path(given)
    with _BUILD_LOCK:
        if _built is None:
            subprocess.run(["cargo", "build", "--locked"], cwd=str(REPO), check=True)
            target = Path(os.environ.get("CARGO_TARGET_DIR", str(REPO / "target")))
            _built = target / "debug" / "logbot-gateway"
        return _built


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    """``logbot-gateway serve`` on loopback; ``kill()`` is SIGKILL, ``start()`` again reuses the
    same port and data directory."""

    def __init__(self, env: Optional[Dict[str, str]] = None, app_key: Optional[str] = None, app_secret: Optional[str] = None) -> None:
        self.dir = tempfile.mkdtemp(prefix="logbot-client-test-")
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.url = self.base + "/graphql"
        self.extra_env = dict(env or {})
        self.app_key = app_key
        self.app_secret = app_secret
        if app_key:
            self.extra_env["LOGBOT__AUTH__APP_KEYS"] = "%s:%s" % (app_key, app_secret)
        self.process = None  # type: Optional[subprocess.Popen]
        self._log = None  # type: Any

    def start(self, within: float = 60.0) -> "Gateway":
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOGBOT_") and k not in ("DATASPACE_URL", "APP_KEY", "APP_SECRET")}
        env.update(
            PORT=str(self.port),
            LOGBOT__SERVER__HOST="127.0.0.1",
            LOGBOT__DATASPACE__DATA_DIR=os.path.join(self.dir, "data"),
            LOGBOT__BOTS__ADMINS=ADMIN,
            LOGBOT__BOTS__MAX_BOTS_PER_ADMIN="1000",
            LOGBOT__DELIVERY__WORKER="false",
            LOGBOT__AUTH__APP_KEYS="",
            LOGBOT__BUS__REDIS_URL="",
        )
        env.update(self.extra_env)
        deadline = time.monotonic() + within
        while True:
            self._close_log()
            self._log = open(os.path.join(self.dir, "gateway.log"), "ab")
            self.process = subprocess.Popen(
                [str(binary()), "serve"], env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log
            )
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if self._ready():
                    return self
                time.sleep(0.05)
            if self.process.poll() is None:
                self.stop()
                raise AssertionError("the gateway did not get ready; log: " + self.log())
            # Exited: on a restart the port may still be held for a moment; try again.
            if time.monotonic() >= deadline:
                raise AssertionError("the gateway exited; log: " + self.log())
            time.sleep(0.2)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/readyz", timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def log(self) -> str:
        with open(os.path.join(self.dir, "gateway.log"), "rb") as f:
            return f.read()[-4000:].decode("utf-8", "replace")

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, whatever was in flight is cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)
        self.process = None
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(20)
        self.process = None
        self._close_log()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- plain GraphQL, signed when the gateway wants it; independent of the client under test

    def graphql(self, query: str, variables: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        headers = {"Content-Type": "application/json"}
        if self.app_key:
            headers = apig.sign("POST", self.url, headers, body, self.app_key, self.app_secret or "").headers
        request = urllib.request.Request(self.url, body, headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        assert not answer.get("errors"), answer
        return answer["data"]

    def register_bot(self, name: str) -> None:
        data = self.graphql(
            "mutation($input: RegisterBotInput!) { registerBot(input: $input) { name } }",
            {
                "input": {
                    "adminUid": ADMIN,
                    "name": name,
                    "botToken": "123456:%s-bot-token-0123456789" % name,
                    "authToken": "%s-auth-token-0123456789" % name,
                }
            },
        )
        assert data["registerBot"]["name"] == name

    def messages(self, bot: str) -> List[str]:
        """Every stored message of ``bot`` (all pages), oldest first."""
        return [record["message"] for record in self.records(bot)]

    def records(self, bot: str) -> List[Dict[str, Any]]:
        out = []  # type: List[Dict[str, Any]]
        after = None
        while True:
            data = self.graphql(
                "query($bot: String!, $after: String) { logs(filter: {bot: $bot}, first: 500, after: $after) "
                "{ totalCount pageInfo { hasNextPage endCursor } edges { node { id level message eventAt requestId "
                "statusCode source { userName pid processName processDescription } attributes } } } }",
                {"bot": bot, "after": after},
            )
            out.extend(edge["node"] for edge in data["logs"]["edges"])
            if not data["logs"]["pageInfo"]["hasNextPage"]:
                break
            after = data["logs"]["pageInfo"]["endCursor"]
        out.reverse()
        return out

    def count(self, bot: str) -> int:
        data = self.graphql("query($bot: String!) { logs(filter: {bot: $bot}, first: 1) { totalCount } }", {"bot": bot})
        return int(data["logs"]["totalCount"])


def wait_until(condition, within: float = 30.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def load_vectors() -> List[Dict[str, Any]]:
    with open(str(REPO / "tests" / "fixtures" / "apig" / "vectors.json"), encoding="utf-8") as f:
        vectors = json.load(f)["vectors"]
    assert vectors
    return vectors
