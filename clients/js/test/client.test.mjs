// createClient through the real gateway binary: send, read back, errors, subscribe.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient, AuthenticationError, BadInputError, NotFoundError, TransportError } from "../dist/index.js";
import { Gateway, freePort, sleep } from "./support.mjs";

/** Subscribes, then sends (an INFO below minLevel and an ERROR each round) until a record
 * arrives: the protocol has no "subscribed" acknowledgement to wait for instead. */
async function firstLiveRecord(client, bot) {
  const received = [];
  const errors = [];
  const unsubscribe = client.subscribe({ bot, minLevel: "WARNING" }, (r) => received.push(r), (e) => errors.push(e));
  const sent = [];
  try {
    for (let round = 0; round < 100 && !received.length && !errors.length; round++) {
      const message = `live ${round}`;
      await client.sendLogs(bot, [{ level: "INFO", message: "quiet" }, { level: "ERROR", message }]);
      sent.push(message);
      await sleep(200);
    }
  } finally {
    unsubscribe();
  }
  if (errors.length) throw errors[0];
  assert.ok(received.length, "a record arrived");
  assert.ok(sent.includes(received[0].message), "it is one sent after subscribing");
  return received[0];
}

describe("createClient", () => {
  let gateway;
  let client;
  before(async () => {
    gateway = await Gateway.start();
    await gateway.registerBot("client");
    client = createClient({ url: gateway.base }); // the base URL: /graphql is added
  });
  after(async () => {
    await client.close();
    await gateway.close();
  });

  test("sendLogs returns the ids and the same key stores once", async () => {
    await gateway.registerBot("idempotent");
    const records = [
      { level: "INFO", message: "first" },
      { level: 50, message: "second", requestId: "RP-1", statusCode: 502, eventAt: new Date("2026-01-02T03:04:05.678Z"), source: { processName: "billing", pid: 7 }, attributes: { order: 42 } },
    ];
    const ids = await client.sendLogs("idempotent", records, { idempotencyKey: "batch-1" });
    assert.equal(ids.length, 2);
    assert.deepEqual(await client.sendLogs("idempotent", records, { idempotencyKey: "batch-1" }), ids);
    const stored = await gateway.records("idempotent");
    assert.deepEqual(stored.map((r) => r.id), ids);
    assert.deepEqual([stored[1].level, stored[1].requestId, stored[1].statusCode, stored[1].eventAt], ["ERROR", "RP-1", 502, "2026-01-02T03:04:05.678Z"]);
    assert.deepEqual(stored[1].attributes, { order: 42 });
  });

  test("sendLog, logs with filters and pages, iterLogs", async () => {
    await gateway.registerBot("paged");
    for (let i = 0; i < 7; i++) await client.sendLog("paged", i % 2 ? "ERROR" : "INFO", `message ${i}`, { requestId: `RQ${i % 3}` });
    const page = await client.logs({ bot: "paged", first: 3 });
    assert.deepEqual(page.records.map((r) => r.message), ["message 6", "message 5", "message 4"]);
    assert.equal(page.hasNextPage, true);
    assert.equal(page.totalCount, 7);
    const rest = await client.logs({ bot: "paged", first: 10, after: page.endCursor });
    assert.deepEqual(rest.records.map((r) => r.message), ["message 3", "message 2", "message 1", "message 0"]);
    const all = [];
    for await (const record of client.iterLogs({ bot: "paged", first: 2 })) all.push(record.message);
    assert.deepEqual(all, [6, 5, 4, 3, 2, 1, 0].map((i) => `message ${i}`));
    const errors = await client.logs({ bot: "paged", minLevel: "ERROR" });
    assert.deepEqual(errors.records.map((r) => r.message), ["message 5", "message 3", "message 1"]);
    assert.deepEqual((await client.logs({ bot: "paged", requestId: "RQ0" })).records.map((r) => r.message), ["message 6", "message 3", "message 0"]);
    assert.deepEqual((await client.logs({ bot: "paged", contains: "age 4" })).records.map((r) => r.message), ["message 4"]);
    const first = errors.records[0];
    assert.deepEqual([first.level, first.bot, first.requestId], ["ERROR", "paged", "RQ2"]);
    assert.ok(first.eventAt instanceof Date);
    const later = Date.now() + 3600_000;
    assert.equal((await client.logs({ bot: "paged", from: later })).records.length, 0);
    assert.equal((await client.logs({ bot: "paged", to: later })).records.length, 7);
  });

  test("errors are typed and carry the code", async () => {
    await assert.rejects(client.sendLog("no-such-bot", "INFO", "x"), (e) => e instanceof NotFoundError && e.code === "NOT_FOUND");
    await assert.rejects(
      client.sendLogs("client", [{ level: "INFO", message: "ok" }, { level: "INFO", message: "   " }]),
      (e) => e instanceof BadInputError && e.code === "BAD_USER_INPUT" && e.field === "records[1].message",
    );
    await assert.rejects(client.logs({ bot: "client", first: 501 }), (e) => e instanceof BadInputError && e.field === "first");
    await assert.rejects(client.sendLog("client", "LOUD", "x"), TypeError);
    assert.equal(await gateway.count("client"), 0, "nothing of a refused batch was stored");
  });

  test("an unreachable gateway is a transport error after the retries", async () => {
    const unreachable = createClient({ url: `http://127.0.0.1:${await freePort()}`, retries: 1, timeoutMs: 1000 });
    await assert.rejects(unreachable.sendLog("client", "INFO", "x"), (e) => e instanceof TransportError && e.retryable);
  });

  test("subscribe receives a record sent after it subscribed", async () => {
    await gateway.registerBot("live");
    const record = await firstLiveRecord(client, "live");
    assert.deepEqual([record.level, record.bot], ["ERROR", "live"]);
    assert.match(record.message, /^live \d+$/);
  });
});

describe("createClient in signed mode", () => {
  test("signed calls and a signed subscription; a wrong secret is refused", async () => {
    const gateway = await Gateway.start({ appKey: "js-client-app", appSecret: "js-client-secret" });
    const client = createClient({ url: gateway.url, appKey: "js-client-app", appSecret: "js-client-secret" });
    const wrong = createClient({ url: gateway.url, appKey: "js-client-app", appSecret: "wrong" });
    try {
      await gateway.registerBot("signed-live");
      await client.sendLog("signed-live", "INFO", "signed call");
      assert.deepEqual((await client.logs({ bot: "signed-live" })).records.map((r) => r.message), ["signed call"]);
      const record = await firstLiveRecord(client, "signed-live");
      assert.match(record.message, /^live \d+$/);
      await assert.rejects(wrong.logs({ bot: "signed-live" }), (e) => e instanceof AuthenticationError && e.status === 401 && e.code === "APIG.0301");
      const refusal = await new Promise((resolve) => wrong.subscribe({ bot: "signed-live" }, () => resolve("a record"), resolve));
      assert.ok(refusal instanceof AuthenticationError, String(refusal));
      assert.equal(refusal.status, 401);
    } finally {
      await client.close();
      await wrong.close();
      await gateway.close();
    }
  });
});
