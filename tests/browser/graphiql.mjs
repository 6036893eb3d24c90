// GraphiQL as a user meets it: the gateway's page in headless Chromium, with the assets served
// from this folder's node_modules (no network), a subscription started from the page's editor,
// and a record sent over HTTP arriving in the page's result pane.
//
//   npm ci && node graphiql.mjs path/to/logbot-gateway [screenshot.png]
//
// Exits non-zero with the reason when anything fails. Chromium: /usr/bin/chromium or $CHROMIUM.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [binary, screenshot] = process.argv.slice(2);
if (!binary) {
  console.error('usage: node graphiql.mjs <logbot-gateway binary> [screenshot.png]');
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const BOT = 'browser';
const MESSAGE = 'seen in GraphiQL';
const SUBSCRIPTION = `subscription { logAdded(bot: "${BOT}") { message level } }`;
const failures = [];

/** Serves npm packages from node_modules as unpkg does: /name@version/file, exact versions only. */
function startAssetServer() {
  const served = [];
  const server = http.createServer((req, res) => {
    const match = /^\/((?:@[^/]+\/)?[^/@]+)@([^/]+)\/(.+)$/.exec(decodeURIComponent(req.url));
    const pkgDir = match && path.join(here, 'node_modules', match[1]);
    const file = match && path.join(pkgDir, match[3]);
    let ok = false;
    if (match && !match[3].includes('..') && fs.existsSync(file)) {
      const { version } = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
      ok = version === match[2];
    }
    if (!ok) {
      res.writeHead(404).end();
      failures.push(`the page asked for an asset this check does not have: ${req.url}`);
      return;
    }
    served.push(req.url);
    const type = file.endsWith('.css') ? 'text/css' : 'application/javascript';
    // crossorigin="anonymous" plus integrity needs CORS, as unpkg sends.
    res.writeHead(200, { 'content-type': type, 'access-control-allow-origin': '*' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, served, port: server.address().port })),
  );
}

function freePort() {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitReady(base, gateway) {
  for (let i = 0; i < 150; i++) {
    if (gateway.exitCode !== null) throw new Error(`the gateway exited with ${gateway.exitCode}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the gateway did not get ready in 30 s');
}

async function graphql(base, query) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const assets = await startAssetServer();
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'logbot-browser-'));
const gatewayLog = path.join(dataDir, 'gateway.log');
const gateway = spawn(binary, ['serve'], {
  env: {
    ...process.env,
    PORT: String(port),
    LOGBOT__SERVER__HOST: '127.0.0.1',
    LOGBOT__DATASPACE__DATA_DIR: path.join(dataDir, 'data'),
    LOGBOT__BOTS__ADMINS: 'browser-admin',
    LOGBOT__AUTH__APP_KEYS: '',
    LOGBOT__BUS__REDIS_URL: '',
    LOGBOT__GRAPHQL__GRAPHIQL_ASSETS_URL: `http://127.0.0.1:${assets.port}/`,
  },
  stdio: ['ignore', fs.openSync(gatewayLog, 'w'), fs.openSync(gatewayLog, 'a')],
});

let browser;
try {
  await waitReady(base, gateway);
  await graphql(
    base,
    `mutation { registerBot(input: {adminUid: "browser-admin", name: "${BOT}", botToken: "123456:browser-check-bot-token-0123456789", authToken: "browser-check-auth-token-0123"}) { name } }`,
  );

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const page = await browser.newPage();
  page.on('pageerror', (error) => failures.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') failures.push(`console error: ${message.text()}`);
  });
  // Everything the page needs comes from the gateway and the asset server; nothing else may be asked.
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    failures.push(`the page reached out to ${url.href}`);
    return route.abort();
  });
  const frames = [];
  page.on('websocket', (socket) => {
    socket.on('framesent', ({ payload }) => frames.push(`sent ${payload}`));
    socket.on('framereceived', ({ payload }) => frames.push(`received ${payload}`));
  });
  // GraphiQL opens with the query it last had in this browser's storage.
  await page.addInitScript((query) => localStorage.setItem('graphiql:query', query), SUBSCRIPTION);

  await page.goto(`${base}/graphql`, { waitUntil: 'load' });
  const run = page.locator('.graphiql-execute-button');
  await run.waitFor({ state: 'visible', timeout: 20000 });
  await run.click();

  // The subscription is live once the server has it; send until the page shows a record.
  const result = page.locator('.graphiql-response');
  let shown = '';
  for (let attempt = 0; attempt < 30 && !shown.includes(MESSAGE); attempt++) {
    await graphql(base, `mutation { sendLog(input: {bot: "${BOT}", level: ERROR, message: "${MESSAGE}"}) { id } }`);
    await page.waitForTimeout(300);
    shown = (await result.innerText()).replace(/\s+/g, ' ');
  }
  if (!shown.includes(MESSAGE) || !shown.includes('ERROR')) {
    failures.push(`the record never reached the result pane; it shows: ${shown.slice(0, 300)}`);
  }
  if (!frames.some((frame) => frame.startsWith('sent') && frame.includes('"connection_init"'))) {
    failures.push(`GraphiQL did not speak graphql-transport-ws: ${frames.join(' | ').slice(0, 300)}`);
  }
  if (assets.served.length !== 4) {
    failures.push(`expected the page to load 4 asset files, it loaded: ${assets.served.join(', ')}`);
  }
  if (screenshot) await page.screenshot({ path: screenshot });
  console.log(`result pane: ${shown.slice(0, 200)}`);
} catch (error) {
  failures.push(error.stack || String(error));
} finally {
  await browser?.close();
  gateway.kill('SIGTERM');
  assets.server.close();
}

if (failures.length) {
  console.error(`GraphiQL browser check FAILED:\n- ${failures.join('\n- ')}`);
  console.error(`gateway log:\n${fs.readFileSync(gatewayLog, 'utf8').slice(-3000)}`);
  process.exit(1);
}
fs.rmSync(dataDir, { recursive: true, force: true });
console.log('GraphiQL browser check passed: subscription from the page received a record, assets offline with integrity');
