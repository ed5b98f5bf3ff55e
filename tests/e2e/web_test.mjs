#!/usr/bin/env node
// End-to-end test of teaching mode's static web build (`bash tools/dev web`) in a real browser.
//
//   node tests/e2e/web_test.mjs --site build/web/site --exe build/release/schoolsim --out build/release/e2e-web
//
// Serves --site from a plain static file server on loopback (no schoolsim process behind the
// page), and checks with Debian's chromium (playwright-core):
//   - the page runs the classroom in WebAssembly, and its numbers equal the native build's
//     (`EXE serve`, the same scenario and seed, term by term);
//   - at 768x1024, 1024x768, 1024x768 zoomed to 125%, 1280x800 and 1920x1080, in one world and
//     in compare mode, no two panels overlap (bounding boxes), with a screenshot of each;
//   - presentation mode at 1024x768: chart titles whole, tick labels large;
//   - lever explanations open on click and cover no control; the About panel; compare cards;
//     programme ties and funding-end marks; lever-change marks; the charts' minimum y-span;
//   - PNG and CSV export.
// Prints one line per check (`ok - ...` / `not ok - ...`) and exits non-zero on any failure;
// exits 77 (skipped) when --site has no build. Gives up after 240 s.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import process from 'node:process';

const CHROMIUM = '/usr/bin/chromium';
const OVERALL_TIMEOUT_MS = 240_000;
const WAIT_MS = 20_000;
const SKIP = 77;

const VIEWPORTS = [
  { name: 'tablet-768x1024', width: 768, height: 1024, scale: 1 },
  { name: 'projector-1024x768', width: 1024, height: 768, scale: 1 },
  // A 1024x768 screen zoomed to 125%: the page sees 819x614 CSS pixels at 1.25 device pixels each.
  { name: 'projector-1024x768-zoom125', width: 819, height: 614, scale: 1.25 },
  { name: 'laptop-1280x800', width: 1280, height: 800, scale: 1 },
  { name: 'screen-1920x1080', width: 1920, height: 1080, scale: 1 },
];

// ------------------------------------------------------------------ command line
function parseArgs(argv) {
  const opts = { site: null, exe: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = a.match(/^--(site|exe|out)(?:=(.*))?$/);
    if (m) opts[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
    else if (a === '-h' || a === '--help') {
      console.log('usage: node web_test.mjs --site BUILD/web/site --exe PATH/TO/schoolsim --out SCREENSHOT_FOLDER');
      process.exit(0);
    } else fatal(`unknown argument '${a}' (usage: --site FOLDER --exe PATH --out FOLDER)`);
  }
  for (const k of ['site', 'exe', 'out']) if (!opts[k]) fatal(`--${k} is required`);
  for (const k of ['site', 'exe', 'out']) opts[k] = path.resolve(process.cwd(), opts[k]);
  if (!fs.existsSync(path.join(opts.site, 'schoolsim.wasm'))) {
    console.log(`# SKIP: no web build in ${opts.site}: run \`bash tools/dev web\` first`);
    process.exit(SKIP);
  }
  if (!fs.existsSync(opts.exe)) fatal(`no executable at ${opts.exe}`);
  return opts;
}

function fatal(message) {
  console.log(`not ok - ${message}`);
  process.exit(1);
}

let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
    return true;
  } catch (err) {
    failures++;
    console.log(`not ok - ${name}`);
    for (const line of String(err && err.message ? err.message : err).split('\n').slice(0, 14)) console.log(`  # ${line}`);
    return false;
  }
}

// ------------------------------------------------------------------ a static file server
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm' };

function staticServer(root) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    let file = path.normalize(path.join(root, decodeURIComponent(url.pathname)));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    if (url.pathname.endsWith('/')) file = path.join(file, 'index.html');
    fs.readFile(file, (err, body) => {
      if (err) { res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found'); return; }
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' }).end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ------------------------------------------------------------------ the native server, for the numbers
function startNative(exe) {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, ['serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "serving" line within 15 s: ${out}`)), 15_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/at (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) { clearTimeout(timer); resolve({ child, url: m[1] }); }
    });
  });
}

// The first hello and frame of an event stream: the whole run so far.
async function firstFrame(url) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 15_000);
  const res = await fetch(url, { signal: ctl.signal });
  const reader = res.body.getReader();
  let text = '';
  const events = {};
  try {
    while (!events.frame) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      for (const block of text.split('\n\n').slice(0, -1)) {
        const name = block.match(/^event: (\w+)/m);
        const data = block.match(/^data: (.*)$/m);
        if (name && data) events[name[1]] = JSON.parse(data[1]);
      }
    }
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
  return events;
}

async function nativeRun(base, mode, terms) {
  // A session obeys only requests that carry its secret token (docs/SECURITY.md).
  let headers = {};
  const post = (p, params) =>
    fetch(new URL(p, base), { method: 'POST', headers, body: new URLSearchParams(params) }).then((r) => r.json());
  const { id, token } = await post('/api/sessions', {});
  headers = { 'X-Session-Token': token };
  if (mode === 'compare') await post(`/api/sessions/${id}/control`, { action: 'mode', value: 'compare' });
  // Timed too, for docs/TEACHING.md (not a criterion of this test).
  const t0 = performance.now();
  for (let t = 0; t < terms; t++) await post(`/api/sessions/${id}/control`, { action: 'step' });
  const msPerStepHttp = (performance.now() - t0) / terms;
  const ev = await firstFrame(new URL(`/api/sessions/${id}/events?token=${token}`, base));
  const schools = [];
  for (let w = 0; w < ev.frame.worlds.length; w++) {
    for (let k = 0; k < ev.hello.schools.x.length; k++) {
      schools.push(await fetch(new URL(`/api/sessions/${id}/schools/${k}?world=${w}`, base), { headers }).then((r) => r.json()));
    }
  }
  return { hello: ev.hello, frame: ev.frame, schools, msPerStepHttp };
}

// ------------------------------------------------------------------ the page
async function openPage(context, url, label) {
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`${label} console: ${m.text()}`); });
  page.on('pageerror', (e) => page.problems.push(`${label} exception: ${e.message}`));
  page.on('requestfailed', (r) => page.problems.push(`${label} request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) page.problems.push(`${label} HTTP ${r.status()}: ${r.url()}`); });
  await page.goto(url);
  await page.waitForFunction(() => window.schoolsim && window.schoolsim.frames > 0, null, { timeout: WAIT_MS });
  return page;
}

const tid = (page, id) => page.locator(`[data-testid="${id}"]`);
const sim = (page, expr, arg) => page.evaluate(expr, arg);
const waitFor = (page, fn, arg, timeout = WAIT_MS) => page.waitForFunction(fn, arg, { timeout, polling: 50 });

// The panels of the page that must never overlap, as the page lays them out now.
async function panelBoxes(page) {
  return page.evaluate(() => {
    const boxes = [];
    const add = (name, el) => {
      if (!el || el.hidden || el.offsetParent === null) return;
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) boxes.push({ name, x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height });
    };
    add('header', document.querySelector('.topbar'));
    add('controls', document.querySelector('.controls'));
    add('map tools', document.querySelector('.maptools'));
    document.querySelectorAll('#maps canvas').forEach((c, i) => add(`map ${i}`, c));
    document.querySelectorAll('#charts figure').forEach((f) => add(`chart ${f.dataset.testid}`, f));
    add('chart legend', document.querySelector('#chart-legend'));
    add('chart marks', document.querySelector('#chart-markers'));
    // Controls cut off by their column (it hides what overflows sideways).
    const column = document.querySelector('.controls').getBoundingClientRect();
    const clipped = [...document.querySelectorAll('.controls button, .controls input, .controls select')]
      .filter((el) => el.offsetParent !== null && el.getClientRects().length)
      .filter((el) => { const r = el.getBoundingClientRect(); return r.left < column.left - 0.5 || r.right > column.right + 0.5; })
      .map((el) => el.dataset.testid || el.id || el.textContent.trim());
    // Controls drawn over each other.
    const controls = [...document.querySelectorAll('.controls button, .controls input:not([type=radio]), .controls select')]
      .filter((el) => el.offsetParent !== null && el.getClientRects().length)
      .map((el) => ({ name: el.dataset.testid || el.id || el.textContent.trim(), r: el.getBoundingClientRect() }));
    for (let i = 0; i < controls.length; i++) {
      for (let j = i + 1; j < controls.length; j++) {
        const a = controls[i].r, b = controls[j].r;
        if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5)
          clipped.push(`${controls[i].name} over ${controls[j].name}`);
      }
    }
    return { boxes, clipped, width: document.documentElement.clientWidth, scrollWidth: document.documentElement.scrollWidth };
  });
}

function assertNoOverlap({ boxes, clipped, width, scrollWidth }, label) {
  assert.deepEqual(clipped, [], `${label}: controls cut off at the side of their column, or over each other`);
  assert.ok(scrollWidth <= width, `${label}: the page is ${scrollWidth} px wide in a ${width} px window`);
  const names = boxes.map((b) => b.name);
  for (const need of ['header', 'controls', 'map 0', 'chart chart-mean_attainment']) assert.ok(names.includes(need), `${label}: ${need} is shown (${names})`);
  const problems = [];
  for (let i = 0; i < boxes.length; i++) {
    const a = boxes[i];
    if (a.x < -0.5 || a.x + a.w > width + 0.5) problems.push(`${a.name} runs off the page: x ${a.x.toFixed(0)}..${(a.x + a.w).toFixed(0)} of ${width}`);
    for (let j = i + 1; j < boxes.length; j++) {
      const b = boxes[j];
      const ox = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const oy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      if (ox > 0.5 && oy > 0.5) problems.push(`${a.name} and ${b.name} overlap by ${ox.toFixed(0)}x${oy.toFixed(0)} px`);
    }
  }
  assert.deepEqual(problems, [], `${label}: ${JSON.stringify(boxes.map((b) => [b.name, Math.round(b.x), Math.round(b.y), Math.round(b.w), Math.round(b.h)]))}`);
  // The map gets a real share of the screen.
  const map = boxes.find((b) => b.name === 'map 0');
  assert.ok(map.w >= 200 && map.h >= 150, `${label}: map is ${map.w.toFixed(0)}x${map.h.toFixed(0)} px`);
}

const overlaps = (a, b) => Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x) > 0.5 &&
  Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y) > 0.5;

async function control(page, action, extra = {}) {
  return sim(page, ([a, e]) => window.schoolsim.control(a, e), [action, extra]);
}

// ------------------------------------------------------------------ the checks
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(CHROMIUM)) fatal(`${CHROMIUM} is missing: install Debian's chromium`);
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    fatal('playwright-core is not installed: run `npm ci` in tests/e2e');
  }
  fs.mkdirSync(opts.out, { recursive: true });
  const files = await staticServer(opts.site);
  cleanup.files = files;
  const url = `http://127.0.0.1:${files.address().port}/`;
  console.log(`# static site ${opts.site} at ${url}`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  cleanup.browser = browser;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });

  let page;
  await check('the static page loads with no server behind it and runs the classroom in WebAssembly', async () => {
    page = await openPage(context, url, 'web');
    assert.equal(await sim(page, () => window.schoolsim.backend), 'wasm');
    assert.equal(await tid(page, 'scenario').textContent(), 'classroom');
    assert.equal(await tid(page, 'map-0').getAttribute('data-schools'), '36');
    assert.match(await tid(page, 'term-counter').textContent(), /term 0 of 60\b/);
    assert.deepEqual(page.problems, []);
  });
  if (!page) throw new Error('cannot go on without the page');

  await check('Play, Step and Reset run the world in the page', async () => {
    await tid(page, 'step').click();
    await waitFor(page, () => window.schoolsim.term === 1);
    await tid(page, 'speed').fill('20');
    await tid(page, 'play').click();
    await waitFor(page, () => window.schoolsim.term >= 6);
    await tid(page, 'play').click();
    await waitFor(page, () => !window.schoolsim.playing);
    await tid(page, 'reset').click();
    await waitFor(page, () => window.schoolsim.term === 0 && window.schoolsim.hellos >= 2);
  });

  // --- the same numbers as the native build
  const TERMS = 60;
  let native = null;
  await check(`native and WebAssembly give the same numbers: ${TERMS} terms, one world and both arms, every chart and every school`, async () => {
    const server = await startNative(opts.exe);
    cleanup.native = server.child;
    try {
      for (const mode of ['single', 'compare']) {
        native = await nativeRun(server.url, mode, TERMS);
        const web = await sim(page, ([m, n]) => window.schoolsim.runForTest(m, n), [mode, TERMS]);
        assert.equal(web.frame.term, TERMS);
        assert.equal(native.frame.term, TERMS);
        const strip = (h) => ({ ...h, session: null });
        assert.deepEqual(strip(web.hello), strip(native.hello), `${mode}: hello`);
        assert.deepEqual(web.frame, native.frame, `${mode}: the frame after ${TERMS} terms (charts' history, schools, ties)`);
        assert.deepEqual(web.schools, native.schools, `${mode}: every school's history`);
      }
    } finally {
      server.child.kill('SIGINT');
    }
  });

  await check('speed: the page steps the classroom faster than the server streams it (20 terms/s at most)', async () => {
    const b = await sim(page, () => window.schoolsim.benchmark(60));
    const rate = 1000 / b.msPerTerm;
    console.log(`# WebAssembly: ${b.msPerTerm.toFixed(2)} ms per term with its frame (${rate.toFixed(0)} terms/s); ` +
      `native over HTTP: ${native ? native.msPerStepHttp.toFixed(2) : '?'} ms per step request; the server streams at most 20 terms/s`);
    assert.equal(b.terms, 60);
    assert.ok(rate >= 20, `${rate.toFixed(1)} terms/s`);
  });

  // --- levers explained on click, never covering the controls
  await check('a lever\'s explanation opens on click, says what the model does, and covers no control', async () => {
    await tid(page, 'explain-league_tables').click();
    const text = tid(page, 'explain-text-league_tables');
    await text.waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.match(await text.textContent(), /In the model: market\.league_tables/);
    const box = await text.boundingBox();
    for (const id of ['area_strategy', 'programme', 'choice', 'collaboration', 'explain-collaboration']) {
      const other = await tid(page, id).boundingBox();
      assert.ok(!overlaps(box, other), `the explanation covers ${id}: ${JSON.stringify([box, other])}`);
    }
    // The controls still work with it open.
    await tid(page, 'area_strategy').selectOption('all');
    await waitFor(page, () => window.schoolsim.levers.area_strategy === 'all');
    await tid(page, 'area_strategy').selectOption('off');
    await waitFor(page, () => window.schoolsim.levers.area_strategy === 'off');
    await tid(page, 'explain-league_tables').click();
    await text.waitFor({ state: 'hidden', timeout: WAIT_MS });
    await tid(page, 'explain-programme').click();
    assert.match(await tid(page, 'explain-text-programme').textContent(), /In the model: programme/);
    await tid(page, 'explain-programme').click();
  });

  await check('the About panel says what the model, the scenario and each lever are, from the files and the parameter table', async () => {
    await tid(page, 'about-open').click();
    await tid(page, 'about').waitFor({ state: 'visible', timeout: WAIT_MS });
    const body = await tid(page, 'about-body').textContent();
    const yaml = fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '../../scenarios/classroom.yaml'), 'utf8');
    const firstLine = yaml.split('\n')[0].replace(/^# ?/, '');
    assert.ok(body.includes(firstLine), `the About panel quotes classroom.yaml: ${firstLine}`);
    for (const lever of ['choice', 'league_tables', 'collaboration', 'constructivism', 'social_capital', 'durkheim', 'social_movement', 'area_strategy', 'programme'])
      assert.ok(await tid(page, `about-lever-${lever}`).count(), `lever ${lever} explained`);
    assert.match(await tid(page, 'about-lever-choice').textContent(), /market\.choice/);
    assert.ok(body.includes('classroom_collaborative.yaml') && body.includes('classroom_competitive.yaml'));
    await page.screenshot({ path: path.join(opts.out, 'about.png') });
    await tid(page, 'about-close').click();
    await tid(page, 'about').waitFor({ state: 'hidden', timeout: WAIT_MS });
  });

  // --- lever changes are marked, charts have a minimum span
  await check('a lever change is marked on the charts, and every chart spans at least 0.2', async () => {
    await tid(page, 'step').click();
    await waitFor(page, () => window.schoolsim.term === 1);
    const before = await sim(page, () => window.schoolsim.drawn.mean_attainment.marks);
    await tid(page, 'league_tables').click({ force: true });
    await waitFor(page, () => window.schoolsim.levers.league_tables === false);
    await tid(page, 'step').click();
    await waitFor(page, () => window.schoolsim.markers.length === 1);
    const markers = await sim(page, () => window.schoolsim.markers);
    assert.equal(markers[0].term, 1);
    assert.match(markers[0].text, /league tables off/);
    assert.match(await tid(page, 'lever-mark').textContent(), /year 1, term 1: league tables off/);
    const drawn = await sim(page, () => window.schoolsim.drawn);
    assert.equal(drawn.mean_attainment.marks, before + 1);
    for (const [name, d] of Object.entries(drawn)) assert.ok(d.hi - d.lo >= 0.2 - 1e-9, `${name}: y from ${d.lo} to ${d.hi}`);
  });

  // --- export
  await check('every chart downloads as PNG and the run\'s series as CSV', async () => {
    const csvDl = await Promise.all([page.waitForEvent('download', { timeout: WAIT_MS }), tid(page, 'export-csv').click()]).then(([d]) => d);
    const csv = fs.readFileSync(await csvDl.path(), 'utf8').trim().split('\n');
    assert.match(csvDl.suggestedFilename(), /\.csv$/);
    assert.equal(csv[0], 'world,term,year,mean_attainment,attainment_gap,dissimilarity,density');
    const term = await sim(page, () => window.schoolsim.term);
    assert.equal(csv.length, 1 + term + 1, 'a row per term from term 0');
    const charts = await sim(page, () => window.schoolsim.charts);
    assert.equal(Number(csv[csv.length - 1].split(',')[3]), charts.mean_attainment[0][term]);
    for (const name of ['mean_attainment', 'attainment_gap', 'dissimilarity', 'density']) {
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: WAIT_MS }), tid(page, `png-${name}`).click()]);
      assert.match(dl.suggestedFilename(), new RegExp(`${name}\\.png$`));
      const png = fs.readFileSync(await dl.path());
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${name}: a PNG file`);
      assert.ok(png.length > 2000, `${name}: ${png.length} bytes`);
    }
  });

  // --- compare mode
  await check('compare mode: a card per arm from the scenario files, no single-world levers, programme ties counted and its funding marked', async () => {
    await tid(page, 'compare').click();
    await waitFor(page, () => window.schoolsim.mode === 'compare' && window.schoolsim.maps.length === 2);
    assert.equal(await tid(page, 'levers').isVisible(), false, 'the single world\'s levers are hidden');
    const cards = [await tid(page, 'arm-card-0').textContent(), await tid(page, 'arm-card-1').textContent()];
    assert.match(cards[0], /Competitive.*classroom_competitive\.yaml/s);
    assert.match(cards[1], /Collaborative.*classroom_collaborative\.yaml/s);
    assert.match(cards[1], /market\.choice 0\.2 \(other: 0\.8\)/);
    assert.match(cards[1], /tie_formation on/);
    assert.match(cards[0], /tie_formation off/);
    const prog = await sim(page, () => window.schoolsim.programme);
    assert.equal(prog[0].launch, -1);
    assert.equal(prog[1].launch, 3);
    assert.equal(prog[1].fundingEnd, 18);
    assert.equal((await sim(page, () => window.schoolsim.drawn.density)).marks, 2, 'launch and funding end marked');
    for (let t = 0; t < 5; t++) await control(page, 'step');
    await waitFor(page, () => window.schoolsim.term === 5);
    const ties = await sim(page, () => window.schoolsim.programme[1].ties);
    const live = await sim(page, () => window.schoolsim.maps[1].tieKinds[1] || 0);
    assert.ok(ties > 0, `programme ties after its launch: ${ties}`);
    assert.equal(ties, live, 'the count is the programme ties on the map');
    assert.equal(Number(await tid(page, 'programme-ties-1').getAttribute('data-ties')), ties);
    assert.match(await tid(page, 'arm-ties-1').textContent(), new RegExp(`^${ties} programme ties? now`));
    assert.deepEqual(page.problems, []);
    await tid(page, 'compare').click();
    await waitFor(page, () => window.schoolsim.mode === 'single' && window.schoolsim.maps.length === 1);
  });
  await page.close();

  // --- every viewport, in one world and comparing
  for (const vp of VIEWPORTS) {
    await check(`${vp.name}: no panels overlap, one world and comparing (screenshots ${vp.name}*.png)`, async () => {
      const ctx = await browser.newContext({ viewport: { width: vp.width, height: vp.height }, deviceScaleFactor: vp.scale });
      try {
        const p = await openPage(ctx, url, vp.name);
        for (let t = 0; t < 9; t++) await control(p, 'step');
        await waitFor(p, () => window.schoolsim.term === 9);
        await p.waitForTimeout(1100);
        assertNoOverlap(await panelBoxes(p), `${vp.name}, one world`);
        await p.screenshot({ path: path.join(opts.out, `${vp.name}.png`), fullPage: true });
        await tid(p, 'compare').click();
        await waitFor(p, () => window.schoolsim.mode === 'compare' && window.schoolsim.maps.length === 2);
        for (let t = 0; t < 9; t++) await control(p, 'step');
        await waitFor(p, () => window.schoolsim.term === 9);
        await p.waitForTimeout(1100);
        assertNoOverlap(await panelBoxes(p), `${vp.name}, comparing`);
        await p.screenshot({ path: path.join(opts.out, `${vp.name}-compare.png`), fullPage: true });
        assert.deepEqual(p.problems, []);
      } finally {
        await ctx.close();
      }
    });
  }

  await check('presentation mode at 1024x768: large type, chart titles whole, tick labels readable, no overlap (presentation-1024x768.png)', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    try {
      const p = await openPage(ctx, url, 'presentation');
      const normal = await sim(p, () => parseFloat(getComputedStyle(document.documentElement).fontSize));
      await tid(p, 'presentation').click();
      for (let t = 0; t < 9; t++) await control(p, 'step');
      await waitFor(p, () => window.schoolsim.term === 9);
      await p.waitForTimeout(600);
      const big = await sim(p, () => parseFloat(getComputedStyle(document.documentElement).fontSize));
      assert.ok(big >= normal * 1.2, `root type ${normal}px -> ${big}px`);
      const cut = await p.$$eval('#charts figcaption .title', (els) =>
        els.filter((e) => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1).map((e) => e.textContent));
      assert.deepEqual(cut, [], 'chart titles cut off');
      const drawn = await sim(p, () => window.schoolsim.drawn);
      for (const [name, d] of Object.entries(drawn)) {
        assert.ok(d.fontPx >= 15, `${name}: tick labels ${d.fontPx}px`);
        assert.ok(d.ticks >= 2 && d.tickGapPx >= 1.5 * d.fontPx, `${name}: ${d.ticks} tick labels ${d.tickGapPx.toFixed(0)} px apart at ${d.fontPx}px`);
      }
      assertNoOverlap(await panelBoxes(p), 'presentation 1024x768');
      await p.screenshot({ path: path.join(opts.out, 'presentation-1024x768.png'), fullPage: true });
      assert.deepEqual(p.problems, []);
    } finally {
      await ctx.close();
    }
  });

  await browser.close();
  cleanup.browser = null;
}

const cleanup = { browser: null, files: null, native: null };
async function finish(code) {
  if (cleanup.native && cleanup.native.exitCode === null) cleanup.native.kill('SIGKILL');
  if (cleanup.files) cleanup.files.close();
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
