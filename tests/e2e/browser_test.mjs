#!/usr/bin/env node
// End-to-end test of `schoolsim serve` in a real browser (Debian's chromium, driven by playwright-core).
//
//   node tests/e2e/browser_test.mjs --exe build/release/schoolsim --out build/release/e2e
//
// Starts `EXE serve --port 0` (the classroom scenario), drives the page as a teacher would (clicks,
// slider, switches), prints one line per check (`ok - ...` / `not ok - ...`), saves screenshots into
// --out and exits non-zero on any failure. It never downloads a browser, and gives up after 120 s.
// Set up once with `npm ci` in tests/e2e (playwright-core only).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const CHROMIUM = '/usr/bin/chromium';
const OVERALL_TIMEOUT_MS = 120_000;
const WAIT_MS = 15_000;   // longest wait for any one thing to happen on the page

// ------------------------------------------------------------------ command line
function parseArgs(argv) {
  const opts = { exe: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--exe' || a === '--out') opts[a.slice(2)] = argv[++i];
    else if (a.startsWith('--exe=') || a.startsWith('--out=')) opts[a.slice(2, 5)] = a.slice(6);
    else if (a === '-h' || a === '--help') {
      console.log('usage: node browser_test.mjs --exe PATH/TO/schoolsim --out SCREENSHOT_FOLDER');
      process.exit(0);
    } else fatal(`unknown argument '${a}' (usage: --exe PATH --out FOLDER)`);
  }
  if (!opts.exe || !opts.out) fatal('both --exe and --out are required');
  opts.exe = path.resolve(process.cwd(), opts.exe);
  opts.out = path.resolve(process.cwd(), opts.out);
  if (!fs.existsSync(opts.exe)) fatal(`no executable at ${opts.exe}`);
  return opts;
}

function fatal(message) {
  console.log(`not ok - ${message}`);
  process.exit(1);
}

// ------------------------------------------------------------------ reporting
let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
    return true;
  } catch (err) {
    failures++;
    console.log(`not ok - ${name}`);
    for (const line of String(err && err.message ? err.message : err).split('\n').slice(0, 12)) console.log(`  # ${line}`);
    return false;
  }
}

// ------------------------------------------------------------------ the server
let server = null;   // {child, url, name, stderr, exited: Promise<{code, signal}>}

function startServer(exe) {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, ['serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', stderr = '';
    const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
    const timer = setTimeout(() => reject(new Error(`no "serving ... at URL" line within 15 s; stdout: ${out}\nstderr: ${stderr}`)), 15_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`server exited early (code ${code}, signal ${signal}); stderr: ${stderr}`)); });
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/schoolsim: serving (.+) at (http:\/\/127\.0\.0\.1:\d+\/)\s*\n/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, name: m[1], url: m[2], exited, get stderr() { return stderr; } });
      }
    });
  });
}

// A session obeys only requests carrying its token: the browser holds it as a
// cookie scoped to the session, which requests made here send as a header.
let cookieJar = null;  // the browser context
async function api(method, urlPath, params) {
  const url = new URL(urlPath, server.url);
  const headers = {};
  if (cookieJar && /^\/api\/sessions\/[0-9a-f]+/.test(url.pathname)) {
    const token = (await cookieJar.cookies(url.href)).find((c) => c.name === 'schoolsim_token');
    if (token) headers['X-Session-Token'] = token.value;
  }
  const res = await fetch(url, {
    method,
    headers,
    ...(params ? { body: new URLSearchParams(params) } : {}),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text, type: res.headers.get('content-type') || '' };
}

// ------------------------------------------------------------------ the page
// Every page records console errors, uncaught exceptions, failed requests and HTTP errors.
async function openPage(context, label) {
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`${label} console: ${m.text()}`); });
  page.on('pageerror', (e) => page.problems.push(`${label} exception: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A hidden tab closes its event stream on purpose (app.js, visibilitychange).
    if (r.url().endsWith('/events') && r.failure()?.errorText === 'net::ERR_ABORTED') return;
    if (!page.isClosed()) page.problems.push(`${label} request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => { if (r.status() >= 400) page.problems.push(`${label} HTTP ${r.status()}: ${r.request().method()} ${r.url()}`); });
  await page.goto(server.url);
  await page.waitForFunction(() => window.schoolsim && window.schoolsim.frames > 0, null, { timeout: WAIT_MS });
  return page;
}

const tid = (page, id) => page.locator(`[data-testid="${id}"]`);
const sim = (page, expr, arg) => page.evaluate(expr, arg);
const term = (page) => sim(page, () => window.schoolsim.term);
const waitFor = (page, fn, arg, timeout = WAIT_MS) => page.waitForFunction(fn, arg, { timeout, polling: 50 });
const chartPoints = (page) => page.$$eval('[data-testid^="chart-"][data-points]', (els) =>
  Object.fromEntries(els.map((e) => [e.dataset.testid, Number(e.dataset.points)])));
const mapState = (page, i = 0) => sim(page, (k) => {
  const m = window.schoolsim.maps[k];
  return { radii: m.radii, colours: m.colours, ties: m.ties, hash: window.schoolsim.mapHash(k) };
}, i);

// Do something on the page and return the parsed answer of the POST it makes to `endpoint`.
async function answerTo(page, endpoint, action) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes(endpoint), { timeout: WAIT_MS }),
    action(),
  ]);
  return { status: res.status(), json: await res.json().catch(() => null) };
}

async function setSpeed(page, value) {
  if (await sim(page, (v) => window.schoolsim.speed === v, value)) return;
  await answerTo(page, '/control', () => tid(page, 'speed').fill(String(value)));
  await waitFor(page, (v) => window.schoolsim.speed === v, value);
}

// Move the choice slider with a key (Home = 0, End = 1) and return the server's answer (null when it was there already).
async function choiceKey(page, key) {
  const slider = tid(page, 'choice');
  const target = key === 'Home' ? '0' : key === 'End' ? '1' : null;
  if (target !== null && (await slider.inputValue()) === target) { await slider.focus(); return null; }
  await slider.focus();
  return answerTo(page, '/levers', () => page.keyboard.press(key));
}

async function pause(page) {
  if (await sim(page, () => window.schoolsim.playing)) {
    await tid(page, 'play').click();
    await waitFor(page, () => !window.schoolsim.playing);
  }
}

// Reset (paused, term 0), then play at `speed` until the run finishes; returns the charts' data.
async function runToEnd(page, speed = 20) {
  await pause(page);
  await tid(page, 'reset').click();
  await waitFor(page, () => window.schoolsim.term === 0 && !window.schoolsim.playing);
  await setSpeed(page, speed);
  await tid(page, 'play').click();
  await waitFor(page, () => window.schoolsim.finished, null, 40_000);
  return sim(page, () => window.schoolsim.charts);
}

const assertNoProblems = (page) => assert.deepEqual(page.problems, [], 'the page reported problems');

// ------------------------------------------------------------------ the checks
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(CHROMIUM)) fatal(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); this test never downloads a browser`);
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    fatal(`playwright-core is not installed: run \`npm ci\` in ${path.dirname(new URL(import.meta.url).pathname)}`);
  }
  fs.mkdirSync(opts.out, { recursive: true });

  server = await startServer(opts.exe);
  console.log(`# ${server.name} at ${server.url}`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  cleanup.browser = browser;
  const context = await browser.newContext({ viewport: { width: 1440, height: 810 } });
  cookieJar = context;
  const shot = (page, name) => page.screenshot({ path: path.join(opts.out, name) });

  // --- loading
  let page;
  await check('the page loads (index.html, app.js, style.css) and connects to its session', async () => {
    page = await openPage(context, 'tab 1');
    const res = await Promise.all(['/', '/app.js', '/style.css'].map((p) => api('GET', p)));
    assert.deepEqual(res.map((r) => r.status), [200, 200, 200]);
    assert.match(res[0].type, /text\/html/);
    assert.match(res[1].type, /javascript/);
    assert.match(res[2].type, /text\/css/);
  });
  if (!page) throw new Error('cannot go on without the page');
  await check('the map shows 36 schools', async () => {
    assert.equal(await tid(page, 'map-0').getAttribute('data-schools'), '36');
    const m = await mapState(page);
    assert.equal(m.radii.length, 36);
    assert.equal(m.colours.length, 36);
  });
  await check('the header shows the scenario, term 0 and paused', async () => {
    assert.equal(await tid(page, 'term-counter').getAttribute('data-term'), '0');
    assert.match(await tid(page, 'term-counter').textContent(), /term 0\b/);
    assert.equal(await tid(page, 'scenario').textContent(), server.name);
    assert.match(await tid(page, 'run-state').textContent(), /paused/);
  });
  await check('the page loads with no console errors and no failed requests', async () => {
    await page.waitForTimeout(300);
    assertNoProblems(page);
  });

  await check('New world starts again from another seed; Reset keeps the seed', async () => {
    const seed0 = await tid(page, 'seed').getAttribute('data-seed');
    assert.match(seed0, /^\d+$/);
    const hellos = await sim(page, () => window.schoolsim.hellos);
    await tid(page, 'new-world').click();
    await waitFor(page, (n) => window.schoolsim.hellos > n, hellos);
    const seed1 = await tid(page, 'seed').getAttribute('data-seed');
    assert.notEqual(seed1, seed0);
    await tid(page, 'reset').click();
    await waitFor(page, (n) => window.schoolsim.hellos > n, hellos + 1);
    assert.equal(await tid(page, 'seed').getAttribute('data-seed'), seed1);
    assert.equal(await term(page), 0);
    // Back to the scenario's own world, so that the rest of the run is the same every time.
    const id = await sim(page, () => window.schoolsim.session);
    await api('POST', `/api/sessions/${id}/control`, { action: 'reset', seed: seed0 });
    await waitFor(page, (n) => window.schoolsim.hellos > n, hellos + 2);
    assert.equal(await tid(page, 'seed').getAttribute('data-seed'), seed0);
  });

  // --- playing
  await check('Play advances the term counter, the charts gain points and the map changes', async () => {
    await setSpeed(page, 4);
    const points0 = await chartPoints(page);
    assert.equal(Object.keys(points0).length, 4, `four charts: ${JSON.stringify(points0)}`);
    const map0 = await mapState(page);
    await tid(page, 'play').click();
    await waitFor(page, () => window.schoolsim.term >= 3);
    assert.match(await tid(page, 'run-state').textContent(), /playing/);
    assert.ok(Number(await tid(page, 'term-counter').getAttribute('data-term')) >= 3);
    await page.waitForTimeout(400);   // let the map glide to the new sizes and colours
    const points1 = await chartPoints(page);
    for (const [k, n] of Object.entries(points1)) assert.ok(n > points0[k], `${k}: ${points0[k]} → ${n} points`);
    const map1 = await mapState(page);
    assert.notDeepEqual([map1.radii, map1.colours], [map0.radii, map0.colours], 'school sizes or colours changed');
    assert.notEqual(map1.hash, map0.hash, 'the map picture changed');
  });
  await check('collaboration ties appear on the map (screenshot single.png)', async () => {
    await waitFor(page, () => window.schoolsim.maps[0].ties > 0);
    await page.waitForTimeout(1100);   // new ties fade in over a second
    await shot(page, 'single.png');
  });

  // --- colour switch (paused, so only the switch changes the picture)
  await check('the colour switch (capacity / expectations) changes the map colours', async () => {
    await pause(page);
    await page.waitForTimeout(1100);
    const before = await mapState(page);
    await page.locator('label', { has: tid(page, 'colour-expectations') }).click();
    await waitFor(page, () => window.schoolsim.colourBy === 'expectations');
    await page.waitForTimeout(600);
    const after = await mapState(page);
    assert.notDeepEqual(after.colours, before.colours);
    assert.notEqual(after.hash, before.hash);
    await page.locator('label', { has: tid(page, 'colour-capacity') }).click();
    await waitFor(page, () => window.schoolsim.colourBy === 'capacity');
  });

  // --- school history panel
  await check('clicking a school opens its history panel with a chart, refreshed as the run goes on (school.png)', async () => {
    const { positions } = await sim(page, () => window.schoolsim.maps[0]);
    const box = await tid(page, 'map-0').boundingBox();
    const k = 5;
    await page.mouse.click(box.x + positions[k][0], box.y + positions[k][1]);
    await tid(page, 'school-panel').waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.match(await tid(page, 'school-title').textContent(), /School 6\b/);
    const now = await term(page);
    await waitFor(page, (n) => Number(document.querySelector('[data-testid="school-chart-capacity"]').dataset.points) === n + 1, now);
    await tid(page, 'play').click();
    await waitFor(page, (n) => Number(document.querySelector('[data-testid="school-chart-ties"]').dataset.points) > n + 2, now);
    await pause(page);
    await page.waitForTimeout(700);
    await shot(page, 'school.png');
    await tid(page, 'school-close').click();
    await tid(page, 'school-panel').waitFor({ state: 'hidden', timeout: WAIT_MS });
  });

  // --- levers
  await check('the choice slider (keyboard) sends the lever and the display follows', async () => {
    const before = Number(await tid(page, 'choice').inputValue());
    assert.ok(before > 0, `choice starts above 0 (${before})`);
    const r = await choiceKey(page, 'ArrowLeft');
    assert.equal(r.status, 200);
    const expected = Math.round((before - 0.05) * 100) / 100;
    assert.ok(Math.abs(r.json.levers.choice - expected) < 1e-9, `choice after one step left from ${before}: ${r.json.levers.choice}`);
    assert.equal(await tid(page, 'choice-value').textContent(), expected.toFixed(2));
    await tid(page, 'step').click();   // and it holds after the next term
    await waitFor(page, (v) => Math.abs(window.schoolsim.levers.choice - v) < 1e-9, expected);
  });
  await check('the choice slider (mouse) sends the lever and the display follows', async () => {
    const box = await tid(page, 'choice').boundingBox();
    const r = await answerTo(page, '/levers', () => page.mouse.click(box.x + 2, box.y + box.height / 2));
    assert.equal(r.json.levers.choice, 0);
    assert.equal(await tid(page, 'choice-value').textContent(), '0.00');
  });
  await check('switching a framework module off is reflected by the server and the page', async () => {
    const r = await answerTo(page, '/levers', () => tid(page, 'levers').getByText('Constructivism', { exact: true }).click());
    assert.equal(r.json.levers.constructivism, false);
    assert.equal(await tid(page, 'constructivism').isChecked(), false);
    await tid(page, 'step').click();
    await waitFor(page, () => window.schoolsim.levers.constructivism === false);
    const r2 = await answerTo(page, '/levers', () => tid(page, 'levers').getByText('Constructivism', { exact: true }).click());
    assert.equal(r2.json.levers.constructivism, true);
  });
  await check('the area strategy select sends the lever', async () => {
    const r = await answerTo(page, '/levers', () => tid(page, 'area_strategy').selectOption('1'));
    assert.equal(String(r.json.levers.area_strategy), '1');
    const r2 = await answerTo(page, '/levers', () => tid(page, 'area_strategy').selectOption('off'));
    assert.equal(r2.json.levers.area_strategy, 'off');
  });
  await check('launching a networking programme shows its status until it has launched, and its ties (programme.png)', async () => {
    await pause(page);
    await tid(page, 'reset').click();
    await waitFor(page, () => window.schoolsim.term === 0);
    const r = await answerTo(page, '/levers', () => tid(page, 'programme').click());
    assert.equal(r.status, 200);
    assert.match(r.json.levers.programme, /^launches in year \d+$/);
    await waitFor(page, () => /launches in year/.test(document.querySelector('[data-testid="programme-status"]').textContent));
    await setSpeed(page, 10);
    await tid(page, 'play').click();
    await waitFor(page, () => /launched in year/.test(document.querySelector('[data-testid="programme-status"]').textContent));
    await pause(page);
    assert.ok((await sim(page, () => window.schoolsim.maps[0].tieKinds[1])) > 0, 'programme ties are on the map');
    await page.waitForTimeout(1100);
    await shot(page, 'programme.png');
  });

  // --- the market sorts pupils: more choice, more segregation (same seed, same world)
  await check('with choice 1 segregation ends higher than with choice 0 (same seed)', async () => {
    await choiceKey(page, 'Home');
    assert.equal(await sim(page, () => window.schoolsim.levers.choice), 0);
    const low = (await runToEnd(page)).dissimilarity[0];
    const r = await choiceKey(page, 'End');
    assert.equal(r.json.levers.choice, 1);
    const high = (await runToEnd(page)).dissimilarity[0];
    assert.equal(low.length, high.length);
    assert.equal(low[0], high[0], 'both runs start from the same world');
    const tail = (xs) => xs.slice(-3).reduce((a, b) => a + b, 0) / 3;   // the last year
    console.log(`  # dissimilarity: start ${low[0].toFixed(3)}, last year with choice 0 ${tail(low).toFixed(3)}, with choice 1 ${tail(high).toFixed(3)}`);
    assert.ok(tail(high) > tail(low), 'choice 1 should segregate more than choice 0');
  });
  await check('a refused lever change shows the server\'s message in the message box', async () => {
    // The run has finished: a programme can no longer launch before it ends.
    page.problems.length = 0;
    const r = await answerTo(page, '/levers', () => tid(page, 'programme').click());
    assert.equal(r.status, 400);
    await tid(page, 'message').waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.equal((await tid(page, 'message').textContent()).includes(r.json.error), true);
    await page.getByRole('button', { name: 'Dismiss message' }).click();
    await tid(page, 'message').waitFor({ state: 'hidden', timeout: WAIT_MS });
    page.problems.length = 0;   // the 400 is expected
  });

  // --- comparing regimes
  await check('"Compare regimes" shows two maps side by side and both worlds advance (compare.png)', async () => {
    await tid(page, 'compare').click();
    await waitFor(page, () => window.schoolsim.mode === 'compare' && window.schoolsim.maps.length === 2 && window.schoolsim.term === 0);
    const [b0, b1] = [await tid(page, 'map-0').boundingBox(), await tid(page, 'map-1').boundingBox()];
    assert.ok(b1.x >= b0.x + b0.width - 1 && Math.abs(b1.y - b0.y) < 5, `side by side: ${JSON.stringify([b0, b1])}`);
    assert.equal(await tid(page, 'choice').isDisabled(), true, 'levers are disabled while comparing');
    assert.equal(await tid(page, 'programme').isDisabled(), true, 'levers are disabled while comparing');
    assert.match(await tid(page, 'chart-legend').textContent(), /Competitive.*Collaborative/);
    const start = [await mapState(page, 0), await mapState(page, 1)];
    await setSpeed(page, 4);
    await tid(page, 'play').click();
    await waitFor(page, () => window.schoolsim.term >= 6);
    await pause(page);
    await page.waitForTimeout(1100);
    const all = await tid(page, 'chart-mean_attainment').getAttribute('data-points-all');
    const t = await term(page);
    assert.deepEqual(all.split(',').map(Number), [t + 1, t + 1], `both worlds chart every term (${all} at term ${t})`);
    const end = [await mapState(page, 0), await mapState(page, 1)];
    for (const i of [0, 1]) assert.notDeepEqual([end[i].radii, end[i].colours], [start[i].radii, start[i].colours], `world ${i} map changed`);
    await shot(page, 'compare.png');
    await tid(page, 'compare').click();
    await waitFor(page, () => window.schoolsim.mode === 'single' && window.schoolsim.maps.length === 1);
    assert.equal(await tid(page, 'choice').isDisabled(), false);
    assertNoProblems(page);
  });

  // --- robustness: several tabs, one closing, bad requests by hand
  let tabs = [];
  await check('4 tabs at once each run their own simulation and all advance', async () => {
    tabs = await Promise.all([1, 2, 3, 4].map((i) => openPage(context, `tab ${i + 1}`)));
    const ids = await Promise.all(tabs.map((p) => sim(p, () => window.schoolsim.session)));
    assert.equal(new Set(ids).size, 4, `separate sessions: ${ids}`);
    for (const p of tabs) { await setSpeed(p, 5); await tid(p, 'play').click(); }
    await Promise.all(tabs.map((p) => waitFor(p, () => window.schoolsim.term >= 3)));
  });
  await check('closing one tab mid-stream: the others keep advancing and the server keeps answering', async () => {
    await tabs[0].close();
    tabs = tabs.slice(1);
    const before = await Promise.all(tabs.map(term));
    await Promise.all(tabs.map((p, i) => waitFor(p, (n) => window.schoolsim.term >= n + 3, before[i])));
    const res = await api('GET', '/');
    assert.equal(res.status, 200);
    const created = await api('POST', '/api/sessions');
    assert.equal(created.status, 200);
    assert.match(created.json.id, /\S/);
    for (const p of tabs) assertNoProblems(p);
  });
  await check('bad lever values sent by hand get 400 with a readable error, and change nothing', async () => {
    const p = tabs[0];
    const id = await sim(p, () => window.schoolsim.session);
    const levers = await sim(p, () => window.schoolsim.levers);
    const t0 = await term(p);
    for (const [field, value] of [['choice', 'abc'], ['choice', '2'], ['area_strategy', '99'], ['nonsense', '1']]) {
      const r = await api('POST', `/api/sessions/${id}/levers`, { [field]: value });
      assert.equal(r.status, 400, `${field}=${value}: ${r.text}`);
      assert.match(r.type, /application\/json/);
      assert.equal(typeof r.json?.error, 'string', `${field}=${value}: ${r.text}`);
      assert.ok(r.json.error.includes(field) && r.json.error.length > field.length + 10, `${field}=${value}: ${r.json.error}`);
    }
    const mixed = await api('POST', `/api/sessions/${id}/levers`, { choice: '0.1', league_tables: 'maybe' });
    assert.equal(mixed.status, 400, 'one bad field refuses the whole change');
    await waitFor(p, (n) => window.schoolsim.term >= n + 2, t0);
    const now = await sim(p, () => window.schoolsim.levers);
    assert.deepEqual(now, levers, 'levers unchanged');
    assert.equal(await sim(p, () => window.schoolsim.playing), true, 'still playing');
  });

  await check('hidden tabs give up their stream, so more tabs than the browser\'s 6 connections per host all run', async () => {
    // Emulates hiding a tab (headless pages are always visible): the page closes its event stream.
    const setHidden = (p, hidden) => p.evaluate((h) => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
    // Slow enough that tabs[0] is still running when it is shown again below, however long opening
    // the extra tabs takes on a busy machine.
    await setSpeed(tabs[0], 1);
    const open = [page, ...tabs];
    for (const p of open) await setHidden(p, true);
    const extra = [];
    for (let i = 0; i < 8; ++i) {
      const p = await openPage(context, `extra tab ${i + 1}`);
      extra.push(p);
      if (i < 7) await setHidden(p, true);
    }
    const last = extra[extra.length - 1];
    await setSpeed(last, 10);
    await tid(last, 'play').click();
    await waitFor(last, () => window.schoolsim.term >= 3);
    // A tab shown again reconnects to its own session and carries on from where it was.
    const p = tabs[0];
    assert.equal(await sim(p, () => window.schoolsim.finished), false, 'tabs[0] is still running');
    const hellos = await sim(p, () => window.schoolsim.hellos);
    await setHidden(p, false);
    await waitFor(p, (n) => window.schoolsim.hellos > n, hellos);
    const t = await term(p);
    await waitFor(p, (n) => window.schoolsim.term >= n + 2, t);
    for (const q of extra) { assertNoProblems(q); await q.close(); }
    assertNoProblems(p);
  });

  // --- shutting down with tabs still open
  await check('SIGINT stops the server with exit code 0 within 5 s, and open pages say the connection is lost', async () => {
    server.child.kill('SIGINT');
    const result = await Promise.race([server.exited, new Promise((res) => setTimeout(() => res(null), 5000))]);
    assert.ok(result, 'the server did not exit within 5 s');
    assert.deepEqual(result, { code: 0, signal: null }, `stderr: ${server.stderr}`);
    await tid(tabs[0], 'connection').waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await tid(tabs[0], 'connection').textContent(), /connection lost/);
  });

  await browser.close();
  cleanup.browser = null;
}

// ------------------------------------------------------------------ run, with an overall deadline
const cleanup = { browser: null };
async function finish(code) {
  if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  if (cleanup.browser) await Promise.race([cleanup.browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
  process.exit(code);
}
const deadline = setTimeout(() => {
  console.log(`not ok - finished within ${OVERALL_TIMEOUT_MS / 1000} s`);
  finish(1);
}, OVERALL_TIMEOUT_MS);

main().then(
  () => {
    clearTimeout(deadline);
    console.log(failures ? `# ${failures} check(s) failed` : '# all checks passed');
    finish(failures ? 1 : 0);
  },
  (err) => {
    clearTimeout(deadline);
    console.log(`not ok - ${err && err.stack ? err.stack : err}`);
    finish(1);
  },
);
