// The real gateway binary for the tests: LOGBOT_TEST_BIN, else target/debug/logbot-gateway after
// `cargo build --locked` in the repo root; spawned on a free loopback port with a temporary data
// directory (the embedded DataSpace), as the Rust tests do.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import { createServer, createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { apig } from "../dist/index.js";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const ADMIN = "client-tests-admin";
let built;

export function binary() {
  if (process.env.LOGBOT_TEST_BIN) return process.env.LOGBOT_TEST_BIN;
  if (!built) {
    execFileSync("cargo", ["build", "--locked"], { cwd: REPO, stdio: "inherit" });
    built = join(process.env.CARGO_TARGET_DIR ?? join(REPO, "target"), "debug", "logbot-gateway");
  }
  return built;
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(condition, withinMs = 30_000, what = "the condition") {
  const deadline = Date.now() + withinMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export class Gateway {
  constructor({ env = {}, appKey, appSecret } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), "logbot-js-test-"));
    this.env = { ...env };
    this.appKey = appKey;
    this.appSecret = appSecret;
    if (appKey) this.env.LOGBOT__AUTH__APP_KEYS = `${appKey}:${appSecret}`;
  }

  static async start(options) {
    const gateway = new Gateway(options);
    gateway.port = await freePort();
    gateway.base = `http://127.0.0.1:${gateway.port}`;
    gateway.url = `${gateway.base}/graphql`;
    await gateway.start();
    return gateway;
  }

  async start(withinMs = 60_000) {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("LOGBOT_") && !["DATASPACE_URL", "APP_KEY", "APP_SECRET"].includes(k)),
    );
    Object.assign(env, {
      PORT: String(this.port),
      LOGBOT__SERVER__HOST: "127.0.0.1",
      LOGBOT__DATASPACE__DATA_DIR: join(this.dir, "data"),
      LOGBOT__BOTS__ADMINS: ADMIN,
      LOGBOT__BOTS__MAX_BOTS_PER_ADMIN: "1000",
      LOGBOT__DELIVERY__WORKER: "false",
      LOGBOT__AUTH__APP_KEYS: "",
      LOGBOT__BUS__REDIS_URL: "",
      ...this.env,
    });
    const deadline = Date.now() + withinMs;
    for (;;) {
      const log = openSync(join(this.dir, "gateway.log"), "a");
      this.child = spawn(binary(), ["serve"], { env, stdio: ["ignore", log, log] });
      closeSync(log);
      let exited = false;
      this.child.once("exit", () => (exited = true));
      while (Date.now() < deadline && !exited) {
        if (await this.#ready()) return this;
        await sleep(50);
      }
      if (!exited) {
        await this.stop();
        throw new Error(`the gateway did not get ready; log: ${this.log()}`);
      }
      // Exited: on a restart the port may still be held for a moment; try again.
      if (Date.now() >= deadline) throw new Error(`the gateway exited; log: ${this.log()}`);
      await sleep(200);
    }
  }

  async #ready() {
    try {
      const response = await fetch(`${this.base}/readyz`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  }

  log() {
    return readFileSync(join(this.dir, "gateway.log"), "utf8").slice(-4000);
  }

  /** SIGKILL: no graceful shutdown; what was in flight is cut. */
  async kill() {
    await this.#end("SIGKILL");
  }

  async stop() {
    await this.#end("SIGTERM");
  }

  async #end(signal) {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    await exited;
  }

  async close() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  // Plain GraphQL, signed when the gateway wants it; independent of the client under test.
  async graphql(query, variables = {}) {
    const body = JSON.stringify({ query, variables });
    let headers = { "Content-Type": "application/json" };
    if (this.appKey) {
      headers = apig.sign("POST", this.url, { ...headers, host: `127.0.0.1:${this.port}` }, body, this.appKey, this.appSecret).headers;
      delete headers.host;
    }
    const response = await fetch(this.url, { method: "POST", headers, body });
    const answer = await response.json();
    if (answer.errors) throw new Error(JSON.stringify(answer.errors));
    return answer.data;
  }

  async registerBot(name) {
    const data = await this.graphql("mutation($input: RegisterBotInput!) { registerBot(input: $input) { name } }", {
      input: { adminUid: ADMIN, name, botToken: `123456:${name}-bot-token-0123456789`, authToken: `${name}-auth-token-0123456789` },
    });
    if (data.registerBot.name !== name) throw new Error("not registered");
  }

  /** Every stored record of `bot`, oldest first. */
  async records(bot) {
    const out = [];
    let after = null;
    for (;;) {
      const data = await this.graphql(
        "query($bot: String!, $after: String) { logs(filter: {bot: $bot}, first: 500, after: $after) " +
          "{ pageInfo { hasNextPage endCursor } edges { node { id level message eventAt requestId statusCode " +
          "source { userName pid processName processDescription } attributes } } } }",
        { bot, after },
      );
      out.push(...data.logs.edges.map((e) => e.node));
      if (!data.logs.pageInfo.hasNextPage) break;
      after = data.logs.pageInfo.endCursor;
    }
    return out.reverse();
  }

  async messages(bot) {
    return (await this.records(bot)).map((r) => r.message);
  }

  async count(bot) {
    const data = await this.graphql("query($bot: String!) { logs(filter: {bot: $bot}, first: 1) { totalCount } }", { bot });
    return data.logs.totalCount;
  }
}

/** Asserts every expected message is stored exactly once and nothing else. */
export function assertEachOnce(assert, stored, expected) {
  const counts = new Map();
  for (const m of stored) counts.set(m, (counts.get(m) ?? 0) + 1);
  assert.deepEqual([...counts].filter(([, n]) => n > 1).map(([m]) => m), [], "stored more than once");
  assert.deepEqual(expected.filter((m) => !counts.has(m)), [], "not stored");
  assert.equal(stored.length, expected.length);
}

/** A loopback TCP proxy that loses the first `lose` answers: the request reaches the gateway
 * (which commits it) and the answer is cut off before the client sees any of it; or, with
 * `{ hold: true }`, the answer never comes and the connection stays open, as with a gateway
 * that accepts and then hangs. */
export async function answerLosingProxy(upstreamPort, lose, { hold = false } = {}) {
  const proxy = { lost: 0 };
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = createConnection(upstreamPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    let held = false;
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (data) => upstream.write(data));
    upstream.on("data", (data) => {
      if (held) return; // the rest of a held answer goes nowhere either
      if (proxy.lost < lose) {
        proxy.lost++;
        if (hold) held = true; // swallowed; the client's socket stays open until it gives up
        else end();
      } else client.write(data);
    });
    for (const s of [client, upstream]) s.on("error", end).on("close", end);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  proxy.url = `http://127.0.0.1:${server.address().port}/graphql`;
  proxy.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  };
  return proxy;
}

export function loadVectors() {
  const vectors = JSON.parse(readFileSync(join(REPO, "tests/fixtures/apig/vectors.json"), "utf8")).vectors;
  if (!vectors.length) throw new Error("no vectors");
  return vectors;
}
