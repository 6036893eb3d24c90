// The pino transport (`logbot-client/pino`) in pino's worker thread, through the real binary.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname } from "node:path";
import { fromPino } from "../dist/pino.js";
import { Gateway } from "./support.mjs";

const packageRoot = dirname(dirname(fileURLToPath(import.meta.url)));

describe("logbot-client/pino", () => {
  let gateway;
  before(async () => {
    gateway = await Gateway.start();
    await gateway.registerBot("pino");
  });
  after(async () => gateway.close());

  test("a pino logger ships its records through the transport; all are there after exit", async () => {
    // A separate process that imports pino and names the transport by its package name, as a
    // service would, and exits on its own (pino ends the transport, which drains its sender).
    const script = `
      import pino from "pino";
      const logger = pino({ name: "billing", transport: { target: "logbot-client/pino", options: { url: ${JSON.stringify(gateway.url)}, bot: "pino", flushIntervalMs: 3600000 } } });
      for (let i = 0; i < 200; i++) logger.info({ order: i, reqId: "RQ" + i }, "order %d paid", i);
      logger.warn({ res: { statusCode: 503 } }, "upstream slow");
      logger.error(new Error("card declined"), "payment failed");
      logger.fatal("going down");
      logger.debug("below the logger's level: not sent");
    `;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: packageRoot, timeout: 60_000, encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    const records = await gateway.records("pino");
    assert.equal(records.length, 203, records.map((r) => r.message).slice(-5).join(" | "));
    const orders = records.slice(0, 200);
    assert.deepEqual(orders.map((r) => r.message), Array.from({ length: 200 }, (_, i) => `order ${i} paid`));
    assert.deepEqual([orders[7].level, orders[7].requestId, orders[7].attributes], ["INFO", "RQ7", { order: 7 }]);
    assert.equal(orders[7].source.processName, "billing");
    assert.equal(typeof orders[7].source.pid, "number");
    assert.match(orders[7].source.processDescription, /^host /);
    const [slow, failed, fatal] = records.slice(200);
    assert.deepEqual([slow.level, slow.message, slow.statusCode], ["WARNING", "upstream slow", 503]);
    assert.equal(failed.level, "ERROR");
    assert.match(failed.message, /^payment failed\nError: card declined\n\s+at /);
    assert.deepEqual([fatal.level, fatal.message], ["CRITICAL", "going down"]);
  });

  test("fromPino maps levels, time, err and the rest", () => {
    const record = fromPino({ level: 35, time: 1767225600000, msg: "m", pid: 1, hostname: "h", name: "svc", requestId: "R", extra: { a: 1 } });
    assert.deepEqual(record, {
      level: 35,
      message: "m",
      eventAt: 1767225600000,
      requestId: "R",
      statusCode: undefined,
      source: { pid: 1, processName: "svc", processDescription: "host h" },
      attributes: { extra: { a: 1 } },
    });
    assert.equal(fromPino({ level: 50, err: { type: "TypeError", message: "bad" } }).message, "TypeError: bad");
  });
});
