// createSender through the real gateway binary (embedded DataSpace).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createSender, NotFoundError, AuthenticationError } from "../dist/index.js";
import { Gateway, answerLosingProxy, assertEachOnce, freePort, sleep, waitUntil } from "./support.mjs";

describe("createSender", () => {
  let gateway;
  before(async () => (gateway = await Gateway.start()));
  after(async () => gateway.close());

  test("5 concurrent producers of 1,000 records each: exactly 5,000 stored, each once", async () => {
    await gateway.registerBot("five-producers");
    const sender = createSender({ url: gateway.url, bot: "five-producers", batchSize: 100 });
    const producers = Array.from({ length: 5 }, async (_, p) => {
      for (let i = 0; i < 1000; i++) {
        assert.equal(sender.send({ level: "INFO", message: `producer ${p} record ${i}` }), true);
        if (i % 50 === 0) await sleep(0); // interleave with the other producers
      }
    });
    await Promise.all(producers);
    assert.equal(await sender.close(120_000), true);
    assert.deepEqual(sender.stats, { sent: 5000, dropped: 0, failed: 0, unsent: 0, queued: 0 });
    const expected = [];
    for (let p = 0; p < 5; p++) for (let i = 0; i < 1000; i++) expected.push(`producer ${p} record ${i}`);
    assertEachOnce(assert, await gateway.messages("five-producers"), expected);
  });

  test("answers lost after the commit are retried with the same key and stored once", async () => {
    await gateway.registerBot("lost-answers");
    const proxy = await answerLosingProxy(gateway.port, 4);
    try {
      const sender = createSender({ url: proxy.url, bot: "lost-answers", batchSize: 10, flushIntervalMs: 50, retryBaseMs: 50, retryCapMs: 200 });
      const expected = Array.from({ length: 60 }, (_, i) => `lost answer test ${i}`);
      for (const message of expected) sender.log("INFO", message);
      assert.equal(await sender.close(60_000), true);
      assert.equal(proxy.lost, 4, "the proxy cut off four answers");
      assertEachOnce(assert, await gateway.messages("lost-answers"), expected);
      assert.equal(sender.stats.sent, 60);
    } finally {
      await proxy.close();
    }
  });

  test("a gateway that accepts and never answers: timed out, retried with the same key, stored once", async () => {
    await gateway.registerBot("held-answers");
    // The gateway commits each of the first three batches and its answer never comes: the
    // connection stays open, only the client's timeout ends the wait.
    const proxy = await answerLosingProxy(gateway.port, 3, { hold: true });
    try {
      const sender = createSender({ url: proxy.url, bot: "held-answers", timeoutMs: 500, batchSize: 10, flushIntervalMs: 50, retryBaseMs: 50, retryCapMs: 200 });
      const expected = Array.from({ length: 40 }, (_, i) => `held answer test ${i}`);
      for (const message of expected) sender.log("INFO", message);
      assert.equal(await sender.close(60_000), true);
      assert.equal(proxy.lost, 3, "the proxy held three answers");
      assertEachOnce(assert, await gateway.messages("held-answers"), expected);
      assert.deepEqual(sender.stats, { sent: 40, dropped: 0, failed: 0, unsent: 0, queued: 0 });
    } finally {
      await proxy.close();
    }
  });

  test("an unknown bot is reported once and the next batch still goes", async () => {
    const reports = [];
    const sender = createSender({ url: gateway.url, bot: "not-yet-registered", onError: (error, count) => reports.push([error, count]) });
    sender.log("ERROR", "before the bot exists");
    assert.equal(await sender.flush(30_000), true);
    assert.equal(reports.length, 1);
    assert.ok(reports[0][0] instanceof NotFoundError);
    assert.deepEqual([reports[0][0].code, reports[0][1]], ["NOT_FOUND", 1]);
    await gateway.registerBot("not-yet-registered");
    sender.log("ERROR", "after registration");
    assert.equal(await sender.close(30_000), true);
    assert.equal(reports.length, 1, "the next batch went through");
    assert.deepEqual(await gateway.messages("not-yet-registered"), ["after registration"]);
    assert.deepEqual([sender.stats.sent, sender.stats.failed], [1, 1]);
  });

  test("without onError a repeated refusal is one process warning", async () => {
    const warnings = [];
    const listener = (warning) => warning.name === "LogbotWarning" && warnings.push(warning.message);
    process.on("warning", listener);
    try {
      const sender = createSender({ url: gateway.url, bot: "never-registered" });
      for (let i = 0; i < 3; i++) {
        sender.log("ERROR", `refused ${i}`);
        assert.equal(await sender.flush(30_000), true);
      }
      await sender.close();
      await sleep(50); // warnings are emitted on the next tick
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.match(warnings[0], /never-registered.*code=NOT_FOUND/);
      assert.equal(sender.stats.failed, 3);
    } finally {
      process.off("warning", listener);
    }
  });

  test("a record the gateway refuses costs only that record", async () => {
    await gateway.registerBot("one-bad-record");
    const reports = [];
    // A message limit above the gateway's lets one record through that the gateway refuses.
    const sender = createSender({ url: gateway.url, bot: "one-bad-record", flushIntervalMs: 60_000, maxMessageChars: 20_000, onError: (e) => reports.push(e) });
    sender.log("INFO", "good 1");
    sender.log("INFO", "x".repeat(17_000));
    sender.log("INFO", "good 2");
    assert.equal(await sender.close(30_000), true);
    assert.deepEqual(await gateway.messages("one-bad-record"), ["good 1", "good 2"]);
    assert.equal(reports.length, 1);
    assert.equal(reports[0].field, "records[1].message");
  });

  test("a full queue drops and counts without waiting, and warns once", async () => {
    const warnings = [];
    const listener = (warning) => warning.name === "LogbotWarning" && warnings.push(warning.message);
    process.on("warning", listener);
    try {
      // Nothing listens on this port: every batch fails and stays queued.
      const sender = createSender({ url: `http://127.0.0.1:${await freePort()}`, bot: "nowhere", maxQueue: 10, batchSize: 5, flushIntervalMs: 10 });
      const started = Date.now();
      let accepted = 0;
      for (let i = 0; i < 1000; i++) if (sender.send({ level: "ERROR", message: `record ${i}` })) accepted++;
      const elapsed = Date.now() - started;
      assert.equal(await sender.flush(200), false);
      assert.equal(await sender.close(200), false);
      await sleep(50);
      assert.ok(elapsed < 5000, `send() never waits (${elapsed} ms for 1000)`);
      assert.equal(accepted, 10);
      assert.equal(sender.stats.dropped, 990);
      assert.equal(sender.stats.sent, 0);
      assert.equal(sender.stats.unsent, 10);
      assert.equal(warnings.filter((w) => w.includes("full")).length, 1, warnings.join("\n"));
    } finally {
      process.off("warning", listener);
    }
  });

  test("records map: levels, times, source, attributes, limits", async () => {
    await gateway.registerBot("mapping");
    const sender = createSender({ url: gateway.url, bot: "mapping", flushIntervalMs: 60_000, source: { processName: "billing" } });
    const at = new Date("2026-03-04T05:06:07.089Z");
    sender.send({ level: 10, message: "trace" });
    sender.send({ level: 35, message: "between info and warn" });
    sender.send({ level: "warn", message: "warn" });
    sender.send({ level: 60, message: "fatal", eventAt: at, requestId: "RQ-1", statusCode: 503, attributes: { order: 42n, when: at, nested: { list: new Set([1]) }, nan: NaN } });
    sender.send({ level: "INFO", message: "   " });
    assert.equal(await sender.close(30_000), true);
    const records = await gateway.records("mapping");
    assert.deepEqual(records.map((r) => [r.level, r.message]), [
      ["DEBUG", "trace"],
      ["INFO", "between info and warn"],
      ["WARNING", "warn"],
      ["CRITICAL", "fatal"],
      ["INFO", "(empty message)"],
    ]);
    const fatal = records[3];
    assert.equal(fatal.eventAt, "2026-03-04T05:06:07.089Z");
    assert.deepEqual([fatal.requestId, fatal.statusCode], ["RQ-1", 503]);
    assert.deepEqual(fatal.attributes, { order: "42", when: "2026-03-04T05:06:07.089Z", nested: { list: [1] }, nan: "NaN" });
    assert.deepEqual([fatal.source.processName, fatal.source.pid], ["billing", process.pid]);
  });

  test("what is queued when the event loop runs dry is sent before the process exits", async () => {
    await gateway.registerBot("at-exit");
    const script = `
      import { createSender } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
      const sender = createSender({ url: ${JSON.stringify(gateway.url)}, bot: "at-exit", flushIntervalMs: 3600000 });
      for (let i = 0; i < 50; i++) sender.log("INFO", "queued at exit " + i);
    `;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { timeout: 60_000, encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assertEachOnce(assert, await gateway.messages("at-exit"), Array.from({ length: 50 }, (_, i) => `queued at exit ${i}`));
  });
});

describe("createSender across a gateway killed with SIGKILL", () => {
  test("killed in the middle of a steady stream and restarted: every record stored once", async () => {
    const gateway = await Gateway.start();
    try {
      await gateway.registerBot("steady");
      const sender = createSender({ url: gateway.url, bot: "steady", batchSize: 20, flushIntervalMs: 50, retryBaseMs: 50, retryCapMs: 1000 });
      const total = 1500;
      const expected = Array.from({ length: total }, (_, i) => `steady ${i}`);
      const producing = (async () => {
        for (const message of expected) {
          sender.log("INFO", message);
          await sleep(2);
        }
      })();
      await waitUntil(async () => (await gateway.count("steady")) >= 200, 60_000, "200 records stored");
      await gateway.kill();
      const atKill = sender.stats.sent;
      await sleep(500);
      await gateway.start();
      await producing;
      assert.equal(await sender.close(90_000), true, "everything sent after the restart");
      assert.ok(atKill < total, "killed in the middle of the stream");
      assertEachOnce(assert, await gateway.messages("steady"), expected);
      assert.deepEqual([sender.stats.sent, sender.stats.failed, sender.stats.dropped], [total, 0, 0]);
    } finally {
      await gateway.close();
    }
  });
});

describe("createSender in signed mode", () => {
  let gateway;
  before(async () => {
    gateway = await Gateway.start({ appKey: "js-app", appSecret: "the-right-secret" });
    await gateway.registerBot("signed");
  });
  after(async () => gateway.close());

  test("records signed with the app key arrive", async () => {
    const sender = createSender({ url: gateway.url, bot: "signed", appKey: "js-app", appSecret: "the-right-secret" });
    for (let i = 0; i < 30; i++) sender.log("WARNING", `signed ${i}`);
    assert.equal(await sender.close(30_000), true);
    assert.equal(sender.stats.sent, 30);
    assert.deepEqual((await gateway.messages("signed")).filter((m) => m.startsWith("signed ")), Array.from({ length: 30 }, (_, i) => `signed ${i}`));
  });

  test("a wrong secret: nothing stored, the failure reported, the application keeps running", async () => {
    const reports = [];
    const sender = createSender({ url: gateway.url, bot: "signed", appKey: "js-app", appSecret: "a-wrong-secret", onError: (e, n) => reports.push([e, n]) });
    const before = await gateway.count("signed");
    for (let i = 0; i < 10; i++) assert.equal(sender.log("ERROR", `wrong secret ${i}`), true);
    assert.equal(await sender.close(30_000), true, "refused, not stuck retrying");
    assert.equal(await gateway.count("signed"), before);
    assert.equal(sender.stats.failed, 10);
    assert.ok(reports[0][0] instanceof AuthenticationError);
    assert.deepEqual([reports[0][0].status, reports[0][0].code], [401, "APIG.0301"]);
  });
});

export const here = fileURLToPath(import.meta.url);
