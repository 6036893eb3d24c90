// Benchmark: records/s from one process to the embedded gateway with batch 100, createSender
// against posting the same batches with bare fetch in the same run, and the cost of one
// send() / pino logger.error() call in the application's thread.
//
//     node clients/js/bench.mjs [--records 20000] [--rounds 3] [--calls 20000] [--binary PATH]
//
// The gateway is --binary, else LOGBOT_TEST_BIN, else target/release/logbot-gateway when built
// (cargo build --release --locked), else the debug build.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import pino from "pino";
import { createSender } from "./dist/index.js";
import { SEND_LOGS } from "./dist/sender.js";
import { Gateway, REPO, binary, waitUntil } from "./test/support.mjs";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "20000" },
    batch: { type: "string", default: "100" },
    rounds: { type: "string", default: "3" },
    calls: { type: "string", default: "20000" },
    binary: { type: "string" },
  },
});
const records = Number(values.records);
const batch = Number(values.batch);
const rounds = Number(values.rounds);
const calls = Number(values.calls);
const release = join(REPO, "target", "release", "logbot-gateway");
const chosen = values.binary ?? process.env.LOGBOT_TEST_BIN ?? (existsSync(release) ? release : undefined);
if (chosen) process.env.LOGBOT_TEST_BIN = chosen;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function barePost(url, bot) {
  const template = { level: "INFO", eventAt: "2026-11-22T08:00:00.000Z", source: { pid: process.pid, processName: "bench" } };
  const started = performance.now();
  for (let first = 0; first < records; first += batch) {
    const batchRecords = [];
    for (let i = first; i < Math.min(records, first + batch); i++) batchRecords.push({ ...template, message: `bare ${i}` });
    const body = JSON.stringify({ query: SEND_LOGS, variables: { bot, records: batchRecords, key: randomUUID() } });
    const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body });
    const text = await response.text();
    if (text.includes('"errors"')) throw new Error(`bare POST refused: ${text.slice(0, 300)}`);
  }
  return records / ((performance.now() - started) / 1000);
}

async function throughSender(url, bot) {
  const sender = createSender({ url, bot, batchSize: batch, maxQueue: records + 1, flushIntervalMs: 50, flushOnExit: false });
  const started = performance.now();
  for (let i = 0; i < records; i++) sender.log("INFO", `sender ${i}`);
  if (!(await sender.close(600_000))) throw new Error("the sender did not drain");
  if (sender.stats.sent !== records) throw new Error(`sent ${sender.stats.sent} of ${records}`);
  return records / ((performance.now() - started) / 1000);
}

function callCost(call) {
  const costs = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const started = process.hrtime.bigint();
    call(i);
    costs[i] = Number(process.hrtime.bigint() - started) / 1000;
  }
  costs.sort();
  return { median: costs[Math.floor(calls / 2)], p99: costs[Math.floor(calls * 0.99)] };
}

const gateway = await Gateway.start();
try {
  console.log(`gateway: ${binary()}`);
  console.log(`node:    ${process.version}`);
  const bare = [];
  const sent = [];
  for (let round = 0; round < rounds; round++) {
    await gateway.registerBot(`bench-bare-${round}`);
    bare.push(await barePost(gateway.url, `bench-bare-${round}`));
    await gateway.registerBot(`bench-sender-${round}`);
    sent.push(await throughSender(gateway.url, `bench-sender-${round}`));
  }
  await gateway.registerBot("bench-cost");
  const sender = createSender({ url: gateway.url, bot: "bench-cost", maxQueue: calls + 1, flushOnExit: false });
  const senderCost = callCost((i) => sender.log("ERROR", `payment ${i} failed`));
  await sender.close(600_000);
  await gateway.registerBot("bench-pino");
  const transport = pino.transport({ target: "logbot-client/pino", options: { url: gateway.url, bot: "bench-pino", maxQueue: calls + 1 } });
  const logger = pino(transport);
  const pinoCost = callCost((i) => logger.error({ order: i }, "payment %d failed", i));
  const devNull = pino(pino.destination({ dest: "/dev/null", sync: false }));
  const nullCost = callCost((i) => devNull.error({ order: i }, "payment %d failed", i));
  // pino gives its worker 10 s to end: let the worker's sender drain first.
  await waitUntil(async () => (await gateway.count("bench-pino")) >= calls, 600_000, "the pino records stored");
  await new Promise((resolve) => {
    transport.once("close", resolve);
    transport.end();
  });
  const b = median(bare);
  const s = median(sent);
  console.log(`records/s, batch ${batch}, ${records} records, median of ${rounds} rounds:`);
  console.log(`  bare fetch POST          ${b.toFixed(0).padStart(8)}   (runs: ${bare.map((x) => x.toFixed(0)).join(", ")})`);
  console.log(`  createSender             ${s.toFixed(0).padStart(8)}   (runs: ${sent.map((x) => x.toFixed(0)).join(", ")})  = ${(s / b).toFixed(2)}x the bare POST`);
  console.log(`one call in the application's thread, ${calls} calls:`);
  console.log(`  sender.log()             median ${senderCost.median.toFixed(2)} us, p99 ${senderCost.p99.toFixed(2)} us`);
  console.log(`  pino logger.error(), logbot-client/pino   median ${pinoCost.median.toFixed(2)} us, p99 ${pinoCost.p99.toFixed(2)} us`);
  console.log(`  pino logger.error(), to /dev/null         median ${nullCost.median.toFixed(2)} us, p99 ${nullCost.p99.toFixed(2)} us  (pino's own cost)`);
} finally {
  await gateway.close();
}
