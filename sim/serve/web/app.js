// schoolsim serve: the page. A small school system running live, from `schoolsim serve` (the HTTP
// interface is described at the top of sim/serve/server.cpp) or from the static web build (the same
// session in WebAssembly, sim/serve/web.cpp); the guide for teachers is docs/TEACHING.md.
// Plain JS, no dependencies. Structure: state → backend (server or wasm) → frame handling → map → charts
// → school panel → controls. `window.schoolsim` exposes what the page shows, for the browser tests.
'use strict';

(() => {
  // ---------------------------------------------------------------- constants
  const TIE_FADE_MS = 1000;          // new ties fade in, dissolved ties fade out over this long
  const EASE_MS = 250;               // school sizes and colours glide to new values
  const SINGLE_COLOUR = '#1f5fa8';
  const WORLD_COLOURS = ['#d9480f', '#1971c2'];   // Competitive (orange), Collaborative (blue)
  const AREA_FILLS = ['#e8eef6', '#f3ece0', '#e6f2ea', '#f1e6ef', '#eeeeee'];
  const PHASES = ['primary', 'secondary'];
  // Tie colours by kind (0 voluntary, 1 programme, 2 federation, 3 movement): programme ties stand out,
  // so a class can watch which survive the end of the programme's funding.
  const TIE_RGB = { 0: '33, 37, 41', 1: '240, 140, 0' };
  // Viridis-like scale for values in [0,1]; reads on a projector and in greyscale.
  const SCALE = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const SCHOOL_SERIES = [
    { key: 'capacity', label: 'Capacity', unit: '[0,1]' },
    { key: 'expectations', label: 'Expectations', unit: '[0,1]' },
    { key: 'attainment', label: 'Attainment', unit: 'pupil SD' },
    { key: 'pupils', label: 'Pupils', unit: 'pupils', integer: true },
    { key: 'ties', label: 'Partners', unit: 'ties', integer: true },
  ];

  const $ = (id) => document.getElementById(id);
  const rootFont = () => parseFloat(getComputedStyle(document.documentElement).fontSize) || 15;

  // ---------------------------------------------------------------- state
  const S = {
    hello: null,            // the last hello event
    term: 0, playing: false, finished: false, speed: 2,
    levers: null,
    colourBy: 'capacity',
    worlds: [],             // see newWorld()
    maps: [],               // one per world: {canvas, ctx, world, w, h, maxR, pos, hulls}
    charts: new Map(),      // measure name → {fig, canvas, value}
    selected: null,         // {school, world}
    panel: { inflight: false, last: 0, again: 0, data: [] },
    editingUntil: 0,        // do not overwrite the controls from frames while the teacher edits
    dirty: true,
    frames: 0, hellos: 0,
    markers: [],            // lever changes: {term, text}, drawn on the charts
    lastLevers: null,       // the levers of the last frame, to see changes
    programme: [],          // per world: {launch, fundingEnd, ties} from the frames
    explained: new Set(),   // levers whose explanation is open
  };

  function newWorld(label) {
    return {
      label,
      target: null,            // latest schools from the server
      shown: { r: [], v: [] },  // radius (px) and colour value as drawn (eased)
      ties: new Map(),         // id → {a, b, s, kind, born, died} (times from performance.now)
      history: { terms: [] },
    };
  }

  // ---------------------------------------------------------------- backend
  // All the page's data goes through one backend object: `schoolsim serve` over HTTP (ServerBackend),
  // or the same classroom session compiled to WebAssembly and run in the page (WasmBackend, the
  // static web build). Both deliver the same hello, frame and status events to `handlers` and give
  // the same answers: an answer's body, or null after showing its error.
  //   start(handlers)                 open a session; handlers = {hello, frame, status}
  //   control(action, extra)          play | pause | step | reset [seed] | speed value | mode value | ping
  //   levers(params)                  a lever change
  //   school(k, world)                one school's history
  //   hidden(bool)                    the tab was hidden or shown
  function ServerBackend() {
    let handlers = null, es = null, reconnectDelay = 1000, starting = false, pingTimer = 0;
    const api = {
      kind: 'server',
      id: null,
      // Every HTTP request of the page goes through here (headers a server asks for go here too).
      request(path, { method = 'GET', params } = {}) {
        return fetch(path, { method, ...(params ? { body: new URLSearchParams(params) } : {}) });
      },
      async post(path, params) {
        let res;
        try {
          res = await api.request(path, { method: 'POST', params });
        } catch (err) {
          showMessage('The simulation server is not answering. Is `schoolsim serve` still running?');
          return null;
        }
        const body = await res.json().catch(() => ({}));
        if (!res.ok) {
          showMessage(body.error || `The server answered ${res.status}.`);
          if (res.status === 404 && api.id && path.includes(api.id)) api.start(handlers);
          return null;
        }
        return body;
      },
      control: (action, extra = {}) => api.post(`api/sessions/${api.id}/control`, { action, ...extra }),
      levers: (params) => api.post(`api/sessions/${api.id}/levers`, params),
      async school(k, world) {
        const r = await api.request(`api/sessions/${api.id}/schools/${k}?world=${world}`);
        return r.ok ? r.json() : null;
      },
      async start(h) {
        handlers = h;
        if (starting) return;
        starting = true;
        if (es) { es.close(); es = null; }
        let res = null;
        try { res = await api.request('api/sessions', { method: 'POST', params: {} }); } catch (e) { /* below */ }
        if (!res || !res.ok) {
          const body = res ? await res.json().catch(() => ({})) : {};
          setConnection(false, body.error ? `${body.error} — retrying…` : 'cannot reach the server — retrying…');
          starting = false;
          setTimeout(() => api.start(handlers), 3000);
          return;
        }
        api.id = (await res.json()).id;
        starting = false;
        connect();
      },
      // Browsers allow six connections per host across all tabs, and an open event stream holds one:
      // a hidden tab closes its stream and pings instead, so that many tabs can be open at once. On
      // showing again it reconnects, and the server sends the whole run so far.
      hidden(isHidden) {
        if (!api.id) return;
        if (isHidden) {
          if (es) { es.close(); es = null; }
          pingTimer = setInterval(() => api.control('ping'), 20000);
        } else {
          clearInterval(pingTimer);
          if (!es) reconnect();
        }
      },
    };
    function connect() {
      if (es) es.close();
      const source = new EventSource(`api/sessions/${api.id}/events`);
      es = source;
      for (const name of ['hello', 'frame', 'status']) source.addEventListener(name, (e) => handlers[name](JSON.parse(e.data)));
      source.onopen = () => { setConnection(true); reconnectDelay = 1000; };
      source.onerror = () => {
        if (es !== source) return;
        source.close();
        es = null;
        setConnection(false);
        setTimeout(reconnect, reconnectDelay);
        reconnectDelay = Math.min(reconnectDelay * 2, 5000);
      };
    }
    // After an error: is our session still there? (404 = the server closed it.)
    async function reconnect() {
      if (document.hidden) return;   // reconnects when the tab is shown again
      let res = null;
      try { res = await api.request(`api/sessions/${api.id}`); } catch (e) { /* server down */ }
      if (!res) { setTimeout(reconnect, reconnectDelay); return; }
      if (res.status === 404) { showMessage('The server had closed this simulation; a new one has started.', 'info'); api.start(handlers); return; }
      connect();
    }
    return api;
  }

  // The static web build: schoolsim.js and schoolsim.wasm next to this page. The page keeps the
  // server's ticker itself: while playing, one term every 1/speed seconds.
  function WasmBackend() {
    let handlers = null, session = null, nextStep = 0, timer = 0;
    const pump = () => {
      for (const ev of JSON.parse(session.events())) handlers[ev.event](ev.data);
    };
    const answer = (text) => {
      const r = JSON.parse(text);
      pump();
      if (r.status !== 200) { showMessage(r.body.error || `error ${r.status}`); return null; }
      return r.body;
    };
    const loop = () => {
      const now = performance.now();
      if (session.playing() && now >= nextStep) {
        session.tick();
        const interval = 1000 / session.speed();
        nextStep = now - nextStep > 500 ? now + interval : nextStep + interval;
        pump();
      }
      timer = setTimeout(loop, 5);
    };
    const api = {
      kind: 'wasm',
      id: 'in-page',
      async start(h) {
        handlers = h;
        try {
          await new Promise((resolve, reject) => {
            const script = Object.assign(document.createElement('script'), { src: 'schoolsim.js' });
            script.onload = resolve;
            script.onerror = () => reject(new Error('schoolsim.js did not load'));
            document.head.append(script);
          });
          // eslint-disable-next-line no-undef
          api.module = await createSchoolsim();
          session = new api.module.Session();
        } catch (err) {
          setConnection(false, `the simulation did not start in this browser: ${err.message || err}`);
          return;
        }
        setConnection(true);
        pump();
        loop();
      },
      async control(action, extra = {}) {
        const body = answer(session.control(action, extra.value || '', extra.seed || ''));
        if (body && (action === 'play' || action === 'speed')) nextStep = performance.now();
        return body;
      },
      async levers(params) { return answer(session.levers(new URLSearchParams(params).toString())); },
      async school(k, world) {
        const r = JSON.parse(session.school(String(world), String(k)));
        return r.status === 200 ? r.body : null;
      },
      hidden() {},
      // A fresh session run `terms` terms in `mode`: its hello, its whole frame and every school's
      // history (the browser test compares them with the native build's).
      runForTest(mode, terms) {
        const s = new api.module.Session();
        if (mode === 'compare') s.control('mode', 'compare', '');
        for (let t = 0; t < terms; t++) s.control('step', '', '');
        const events = Object.fromEntries(JSON.parse(s.events()).map((e) => [e.event, e.data]));
        const schools = [];
        for (let w = 0; w < events.frame.worlds.length; w++) {
          for (let k = 0; k < events.hello.schools.x.length; k++) schools.push(JSON.parse(s.school(String(w), String(k))).body);
        }
        s.delete();
        return { hello: events.hello, frame: events.frame, schools };
      },
      // Milliseconds per term of a fresh session stepping as fast as it can, with every frame it
      // would send (what docs/TEACHING.md reports).
      benchmark(terms) {
        const s = new api.module.Session();
        s.events();
        s.control('play', '', '');
        const t0 = performance.now();
        let n = 0;
        for (; n < terms && s.playing(); n++) { s.tick(); s.events(); }
        const ms = (performance.now() - t0) / Math.max(n, 1);
        s.delete();
        return { terms: n, msPerTerm: ms };
      },
    };
    return api;
  }

  // Which backend: the page's <meta name="schoolsim-backend"> (the static web build says wasm), or
  // ?backend=server|wasm.
  function chooseBackend() {
    const meta = document.querySelector('meta[name="schoolsim-backend"]');
    const kind = new URLSearchParams(location.search).get('backend') || (meta && meta.content) || 'server';
    return kind === 'wasm' ? WasmBackend() : ServerBackend();
  }

  let backend = null;
  const control = (action, extra = {}) => backend.control(action, extra);

  async function sendLevers(params) {
    S.editingUntil = performance.now() + 800;
    const body = await backend.levers(params);
    if (body && body.levers) applyLevers(body.levers, true);
    else if (S.levers) applyLevers(S.levers, true);      // rejected: show what really holds
  }

  document.addEventListener('visibilitychange', () => { if (backend) backend.hidden(document.hidden); });

  function setConnection(ok, text) {
    const el = $('connection');
    el.hidden = ok;
    if (!ok) el.textContent = text || 'connection lost — reconnecting…';
  }

  // ---------------------------------------------------------------- events
  function onHello(h) {
    S.hello = h;
    S.hellos++;
    S.term = 0;
    S.worlds = h.worlds.map((w) => newWorld(w.label));
    $('scenario').textContent = h.scenario;
    $('seed').textContent = `world ${h.seed}`;
    $('seed').dataset.seed = String(h.seed);
    document.title = `schoolsim · ${h.scenario}`;
    buildAreaOptions(h.areas);
    S.markers = [];
    S.lastLevers = null;
    S.programme = h.worlds.map(() => ({ launch: -1, fundingEnd: -1, ties: 0 }));
    buildMaps();
    buildCharts();
    buildExplanations(h.about);
    buildAbout(h.about);
    buildArms(h);
    applyLevers(h.levers, true);
    onStatus({ playing: h.playing, speed: h.speed, finished: false });
    const compare = h.mode === 'compare';
    $('compare').setAttribute('aria-pressed', String(compare));
    $('compare').textContent = compare ? 'Back to one school system' : 'Compare competitive vs collaborative';
    $('levers').disabled = compare;
    $('levers').hidden = compare;   // the arms' cards say what each world runs instead
    $('arms').hidden = !compare;
    $('mode-label').textContent = compare ? 'comparing regimes' : '';
    document.body.classList.toggle('compare-mode', compare);
    if (S.selected && S.selected.world >= S.worlds.length) S.selected.world = 0;
    S.panel.data = [];
    refreshPanel(true);
  }

  function onFrame(f) {
    if (!S.hello) return;
    S.frames++;
    S.term = f.term;
    $('clock').textContent = f.term === 0 ? 'Start, before year 1' : `Year ${f.year}, term ${f.term_of_year}`;
    const counter = $('term-counter');
    counter.dataset.term = String(f.term);
    counter.textContent = `term ${f.term} of ${S.hello.years * S.hello.terms_per_year}`;
    onStatus({ playing: f.playing, speed: S.speed, finished: f.finished });
    if (performance.now() > S.editingUntil) applyLevers(f.levers, false);
    else S.levers = f.levers;
    noteLeverChanges(f);
    const now = performance.now();
    f.worlds.forEach((fw, i) => {
      const w = S.worlds[i];
      if (!w) return;
      w.target = fw.schools;
      S.programme[i] = { launch: fw.programme_term, fundingEnd: fw.funding_end_term, ties: fw.programme_ties };
      diffTies(w, fw.ties, now);
      appendHistory(w.history, fw.history);
    });
    updateProgramme();
    updateCharts();
    refreshPanel(false);
    S.dirty = true;
    publishDebug();
  }

  function onStatus(st) {
    S.playing = st.playing;
    S.finished = st.finished;
    S.speed = st.speed;
    const pill = $('run-state');
    pill.textContent = st.finished ? '■ finished' : st.playing ? '▶ playing' : '❚❚ paused';
    pill.className = `pill ${st.finished ? 'finished' : st.playing ? 'playing' : 'paused'}`;
    const play = $('play');
    play.textContent = st.playing ? '❚❚ Pause' : st.finished ? '▶ Play again' : '▶ Play';
    play.setAttribute('aria-label', st.playing ? 'Pause' : 'Play');
    if (document.activeElement !== $('speed')) {
      $('speed').value = st.speed;
      $('speed-value').textContent = fmtSpeed(st.speed);
    }
    publishDebug();
  }

  function diffTies(w, ties, now) {
    const seen = new Set();
    for (const [id, a, b, s, kind = 0] of ties) {
      seen.add(id);
      const t = w.ties.get(id);
      if (t) { t.s = s; t.kind = kind; } else w.ties.set(id, { a, b, s, kind, born: now, died: 0 });
    }
    for (const [id, t] of w.ties) if (!seen.has(id) && !t.died) t.died = now;
  }

  function appendHistory(h, add) {
    if (!add || !add.terms) return;
    const last = h.terms.length ? h.terms[h.terms.length - 1] : -1;
    add.terms.forEach((term, j) => {
      if (term <= last) return;          // never count a term twice
      for (const key of Object.keys(add)) (h[key] = h[key] || []).push(add[key][j]);
    });
  }

  // ---------------------------------------------------------------- map
  function buildMaps() {
    const box = $('maps');
    box.textContent = '';
    S.maps = S.worlds.map((w, i) => {
      const fig = document.createElement('figure');
      fig.className = 'map';
      const cap = document.createElement('figcaption');
      cap.textContent = w.label;
      if (S.worlds.length > 1) cap.style.color = WORLD_COLOURS[i];
      const canvas = document.createElement('canvas');
      canvas.dataset.testid = `map-${i}`;
      canvas.dataset.schools = String(S.hello.schools.x.length);
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `Map of the schools: ${w.label}`);
      fig.append(cap, canvas);
      box.append(fig);
      const m = { canvas, ctx: canvas.getContext('2d'), world: i, w: 0, h: 0, pos: [] };
      canvas.addEventListener('click', (e) => {
        const k = schoolAt(m, e.offsetX, e.offsetY);
        if (k >= 0) openPanel(k, i);
      });
      canvas.addEventListener('mousemove', (e) => {
        const k = schoolAt(m, e.offsetX, e.offsetY);
        canvas.style.cursor = k >= 0 ? 'pointer' : 'default';
        canvas.title = k >= 0 ? schoolTitle(k) + ' — click for its history' : '';
      });
      new ResizeObserver(() => layoutMap(m)).observe(canvas);
      layoutMap(m);
      return m;
    });
  }

  // Fit the map to its canvas: place the schools (CSS px), size them, build the area hulls.
  function layoutMap(m) {
    const dpr = window.devicePixelRatio || 1;
    m.w = m.canvas.clientWidth;
    m.h = m.canvas.clientHeight;
    if (!m.w || !m.h) return;
    m.canvas.width = Math.round(m.w * dpr);
    m.canvas.height = Math.round(m.h * dpr);
    m.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const sc = S.hello.schools;
    m.maxR = Math.max(6, Math.min(m.w, m.h) * (sc.x.length > 60 ? 0.03 : 0.042));
    m.maxPlaces = Math.max(...sc.places, 1);
    m.pos = placeSchools(sc, S.hello.areas, m.w, m.h, m.maxR * 1.5 + 14);
    m.hulls = [];
    for (let a = 0; a < S.hello.areas; a++) {
      const pts = m.pos.filter((_, i) => sc.area[i] === a);
      if (pts.length) m.hulls.push({ area: a, pts: convexHull(pts) });
    }
    S.dirty = true;
  }

  // Schools by x, y (km, north up). Areas far apart (as generated worlds are) are drawn as separate
  // panels at one common scale, which uses the screen much better; otherwise the true geography.
  function placeSchools(sc, areas, W, H, pad) {
    const n = sc.x.length;
    const bounds = (idx) => {
      const xs = idx.map((i) => sc.x[i]), ys = idx.map((i) => sc.y[i]);
      return { idx, x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
    };
    const scale = (b, w, h) => Math.min((w - 2 * pad) / Math.max(b.x1 - b.x0, 1), (h - 2 * pad - 12) / Math.max(b.y1 - b.y0, 1));
    const pos = new Array(n);
    const place = (b, k, left, top, w, h) => {
      const ox = left + (w - k * (b.x1 - b.x0)) / 2, oy = top + 6 + (h - k * (b.y1 - b.y0)) / 2;
      for (const i of b.idx) pos[i] = [ox + k * (sc.x[i] - b.x0), oy + k * (b.y1 - sc.y[i])];
    };
    const everyone = bounds([...Array(n).keys()]);
    const whole = scale(everyone, W, H);
    const groups = [];
    for (let a = 0; a < areas; a++) {
      const idx = [...Array(n).keys()].filter((i) => sc.area[i] === a);
      if (idx.length) groups.push(bounds(idx));
    }
    let best = { k: -Infinity };
    for (let cols = 1; cols <= groups.length; cols++) {
      const rows = Math.ceil(groups.length / cols);
      const k = Math.min(...groups.map((g) => scale(g, W / cols, H / rows)));
      if (k > best.k) best = { k, cols, rows };
    }
    if (groups.length < 2 || best.k < 1.5 * whole) {
      place(everyone, whole, 0, 0, W, H);
    } else {
      const cw = W / best.cols, ch = H / best.rows;
      groups.forEach((g, j) => place(g, best.k, (j % best.cols) * cw, Math.floor(j / best.cols) * ch, cw, ch));
    }
    return pos;
  }

  function convexHull(points) {
    const p = points.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    const half = (list) => {
      const h = [];
      for (const q of list) {
        while (h.length >= 2 && cross(h[h.length - 2], h[h.length - 1], q) <= 0) h.pop();
        h.push(q);
      }
      h.pop();
      return h;
    };
    return p.length < 3 ? p : half(p).concat(half(p.slice().reverse()));
  }

  function targetRadius(m, pupils) {
    return Math.max(2.5, Math.min(m.maxR * 1.5, m.maxR * Math.sqrt(pupils / m.maxPlaces)));
  }

  function colourOf(v) {
    const t = Math.max(0, Math.min(1, v)) * (SCALE.length - 1);
    const i = Math.min(SCALE.length - 2, Math.floor(t)), f = t - i;
    const c = SCALE[i].map((x, j) => Math.round(x + f * (SCALE[i + 1][j] - x)));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }

  // Move the drawn sizes and colours a step towards their targets; true while still moving.
  function ease(m, w, dt) {
    if (!w.target) return false;
    const a = 1 - Math.exp(-dt / EASE_MS * 3);
    const values = w.target[S.colourBy];
    let moving = false;
    for (let i = 0; i < values.length; i++) {
      const r = targetRadius(m, w.target.pupils[i]);
      if (w.shown.r[i] === undefined) { w.shown.r[i] = r; w.shown.v[i] = values[i]; continue; }
      w.shown.r[i] += (r - w.shown.r[i]) * a;
      w.shown.v[i] += (values[i] - w.shown.v[i]) * a;
      if (Math.abs(r - w.shown.r[i]) > 0.05 || Math.abs(values[i] - w.shown.v[i]) > 0.002) moving = true;
    }
    return moving;
  }

  function drawMap(m, w, now) {
    const ctx = m.ctx;
    ctx.clearRect(0, 0, m.w, m.h);
    const sc = S.hello.schools;
    // Areas: a rounded, faint hull around each area's schools, with its name.
    const grow = m.maxR * 1.2 + 10;
    ctx.lineJoin = 'round';
    ctx.lineCap = 'round';
    for (const hull of m.hulls) {
      ctx.beginPath();
      hull.pts.forEach(([x, y], j) => (j ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      if (hull.pts.length === 1) ctx.lineTo(hull.pts[0][0] + 0.01, hull.pts[0][1]);
      ctx.closePath();
      ctx.fillStyle = ctx.strokeStyle = AREA_FILLS[hull.area % AREA_FILLS.length];
      ctx.lineWidth = 2 * grow;
      ctx.stroke();
      ctx.fill();
    }
    for (const hull of m.hulls) {   // labels after every hull, so no area hides another's name
      const top = hull.pts.reduce((p, q) => (q[1] < p[1] ? q : p));
      ctx.fillStyle = '#5c6670';
      ctx.font = `600 ${Math.round(rootFont() * 0.87)}px system-ui, sans-serif`;
      ctx.textAlign = 'center';
      ctx.fillText(`Area ${hull.area + 1}`, top[0], Math.max(14, top[1] - grow + 14));
    }
    // Ties: opacity and width follow strength; fading in when new, out when dissolved.
    for (const [id, t] of w.ties) {
      const age = now - t.born;
      let fade = Math.min(1, age / TIE_FADE_MS);
      if (t.died) {
        fade = Math.min(fade, 1 - (now - t.died) / TIE_FADE_MS);
        if (fade <= 0) { w.ties.delete(id); continue; }
      }
      const s = Math.max(0, Math.min(1, t.s));
      const [x1, y1] = m.pos[t.a], [x2, y2] = m.pos[t.b];
      ctx.strokeStyle = `rgba(${TIE_RGB[t.kind] || TIE_RGB[0]}, ${fade * (0.25 + 0.7 * s)})`;
      ctx.lineWidth = 0.8 + 4 * s;
      ctx.beginPath();
      ctx.moveTo(x1, y1);
      ctx.lineTo(x2, y2);
      ctx.stroke();
    }
    if (!w.target) return;
    // Schools: circles (primary) or squares (secondary), sized by sqrt(pupils), coloured by the switch.
    const order = [...sc.x.keys()].sort((i, j) => w.shown.r[j] - w.shown.r[i]);
    for (const i of order) {
      const [x, y] = m.pos[i];
      const r = w.shown.r[i];
      ctx.beginPath();
      if (sc.phase[i] === 1) ctx.rect(x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8);
      else ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = colourOf(w.shown.v[i]);
      ctx.fill();
      ctx.lineWidth = 1.2;
      ctx.strokeStyle = '#ffffff';
      ctx.stroke();
      const crisis = w.target.crisis ? w.target.crisis[i] : 0;
      if (crisis > 0.05) {
        ctx.beginPath();
        ctx.arc(x, y, (sc.phase[i] === 1 ? r * 1.3 : r) + 4, 0, 2 * Math.PI);
        ctx.strokeStyle = `rgba(224, 49, 49, ${0.35 + 0.65 * Math.min(1, crisis)})`;
        ctx.lineWidth = 2.5;
        ctx.stroke();
      }
    }
    if (S.selected && S.selected.world === m.world) {
      const [x, y] = m.pos[S.selected.school];
      ctx.beginPath();
      ctx.arc(x, y, w.shown.r[S.selected.school] + 8, 0, 2 * Math.PI);
      ctx.strokeStyle = '#111';
      ctx.lineWidth = 3;
      ctx.stroke();
    }
  }

  function schoolAt(m, x, y) {
    const w = S.worlds[m.world];
    let best = -1, bestD = Infinity;
    m.pos.forEach(([px, py], i) => {
      const d = Math.hypot(px - x, py - y);
      if (d < (w.shown.r[i] || m.maxR) + 5 && d < bestD) { best = i; bestD = d; }
    });
    return best;
  }

  let lastTick = performance.now();
  function tick(now) {
    const dt = Math.min(100, now - lastTick);
    lastTick = now;
    let busy = S.dirty;
    S.maps.forEach((m, i) => {
      const w = S.worlds[i];
      if (!w || !m.w) return;
      const moving = ease(m, w, dt);
      const fading = [...w.ties.values()].some((t) => t.died || now - t.born < TIE_FADE_MS);
      if (S.dirty || moving || fading) drawMap(m, w, now);
      busy = busy || moving || fading;
    });
    S.dirty = false;
    if (busy) publishMapDebug();
    requestAnimationFrame(tick);
  }

  // ---------------------------------------------------------------- charts
  function buildCharts() {
    const box = $('charts');
    box.textContent = '';
    S.charts.clear();
    for (const ms of S.hello.measures) {
      const fig = document.createElement('figure');
      fig.className = 'chart';
      fig.dataset.testid = `chart-${ms.name}`;
      fig.dataset.points = '0';
      const cap = document.createElement('figcaption');
      const title = Object.assign(document.createElement('span'), { className: 'title', textContent: `${ms.label} ` });
      title.append(Object.assign(document.createElement('span'), { className: 'unit', textContent: `(${ms.unit})` }));
      const value = Object.assign(document.createElement('span'), { className: 'value' });
      const png = Object.assign(document.createElement('button'), {
        type: 'button', className: 'png', textContent: 'PNG', title: `Download this chart as a PNG image`,
      });
      png.dataset.testid = `png-${ms.name}`;
      png.addEventListener('click', () => downloadChart(chart));
      cap.append(title, value, png);
      const canvas = document.createElement('canvas');
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `${ms.label} over time, in ${ms.unit}`);
      fig.append(cap, canvas);
      box.append(fig);
      const chart = { fig, canvas, value, measure: ms };
      new ResizeObserver(() => drawMeasure(chart)).observe(canvas);
      S.charts.set(ms.name, chart);
    }
    for (const legend of [$('chart-legend'), $('school-legend')]) {   // which line is which world
      legend.textContent = '';
      if (S.worlds.length < 2) continue;
      S.worlds.forEach((w, i) => {
        const item = document.createElement('span');
        item.innerHTML = `<span class="swatch" style="background:${WORLD_COLOURS[i]}"></span>`;
        item.append(w.label);
        legend.append(item);
      });
    }
  }

  const seriesColour = (i) => (S.worlds.length > 1 ? WORLD_COLOURS[i] : SINGLE_COLOUR);

  function updateCharts() {
    for (const chart of S.charts.values()) drawMeasure(chart);
  }

  function drawMeasure(chart) {
    const name = chart.measure.name;
    const series = S.worlds.map((w, i) => ({ xs: w.history.terms, ys: w.history[name] || [], colour: seriesColour(i) }));
    chart.fig.dataset.points = String(series[0] ? series[0].ys.length : 0);
    chart.fig.dataset.pointsAll = series.map((s) => s.ys.length).join(',');
    chart.value.textContent = '';   // the latest value of each world, in its colour
    for (const s of series) {
      if (!s.ys.length) continue;
      const v = Object.assign(document.createElement('span'), { textContent: fmt(s.ys[s.ys.length - 1]) });
      if (series.length > 1) v.style.color = s.colour;
      chart.value.append(v);
    }
    chart.drawn = drawLineChart(chart.canvas, series, S.hello.years * S.hello.terms_per_year, S.hello.terms_per_year,
      { minSpan: minSpanOf(chart.measure), marks: chartMarks() });
  }

  // The smallest y range a chart shows, so that a change of a few hundredths does not fill a panel:
  // a fifth of a [0,1] scale, or 0.2 pupil SD.
  const minSpanOf = (ms) => (ms.unit === '[0,1]' ? 0.2 : 0.2);

  // Vertical marks on the charts: each world's programme launch and the end of its funding, and
  // the lever changes.
  function chartMarks() {
    const marks = [];
    S.programme.forEach((p, i) => {
      if (!p || p.launch < 0) return;
      const colour = S.worlds.length > 1 ? WORLD_COLOURS[i] : '#f08c00';
      marks.push({ term: p.launch, label: 'programme', colour, dash: [5, 3] });
      if (p.fundingEnd > p.launch) marks.push({ term: p.fundingEnd, label: 'funding ends', colour, dash: [2, 3] });
    });
    for (const m of S.markers) marks.push({ term: m.term, label: '', colour: '#495057', dash: [1, 3] });
    return marks;
  }

  // Lever changes seen in the frames (single world): marked on the charts and listed above them.
  const LEVER_NAMES = {
    choice: 'choice', league_tables: 'league tables', collaboration: 'collaboration', constructivism: 'constructivism',
    social_capital: 'social capital', durkheim: 'Durkheim', social_movement: 'movement', area_strategy: 'area strategy',
  };
  function leverChanges(prev, lv) {
    const changes = [];
    for (const [key, name] of Object.entries(LEVER_NAMES)) {
      if (prev[key] === lv[key]) continue;
      const v = typeof lv[key] === 'boolean' ? (lv[key] ? 'on' : 'off') : key === 'choice' ? Number(lv[key]).toFixed(2) : lv[key];
      changes.push(`${name} ${v}`);
    }
    if ((prev.programme === 'none') !== (lv.programme === 'none')) changes.push(lv.programme === 'none' ? 'no programme' : 'programme');
    return changes;
  }

  // One mark per term at which levers changed, saying what they became; moves that undo each other
  // within the term leave no mark.
  function noteLeverChanges(f) {
    const lv = f.levers;
    const prev = S.lastLevers;
    S.lastLevers = lv;
    if (!prev || S.worlds.length > 1 || !leverChanges(prev, lv).length) return;
    let last = S.markers[S.markers.length - 1];
    if (!last || last.term !== f.term) S.markers.push(last = { term: f.term, before: prev });
    const changes = leverChanges(last.before, lv);
    if (changes.length) last.text = changes.join(', ');
    else S.markers.pop();
    showMarkers();
  }

  function showMarkers() {
    const box = $('chart-markers');
    box.textContent = '';
    const perYear = S.hello.terms_per_year;
    const when = (t) => (t === 0 ? 'start' : `year ${Math.floor((t - 1) / perYear) + 1}, term ${((t - 1) % perYear) + 1}`);
    S.programme.forEach((p, i) => {
      if (!p || p.launch < 0) return;
      const item = Object.assign(document.createElement('span'), { className: 'mark' });
      item.style.color = S.worlds.length > 1 ? WORLD_COLOURS[i] : '#d9480f';
      const ties = `${p.ties} programme tie${p.ties === 1 ? '' : 's'}`;
      item.textContent = `${S.worlds.length > 1 ? S.worlds[i].label + ': ' : ''}programme from year ${p.launch / perYear + 1}` +
        (p.fundingEnd > p.launch ? `, funding ends after year ${p.fundingEnd / perYear}` : '') + ` · ${ties}`;
      item.dataset.testid = `programme-ties-${i}`;
      item.dataset.ties = String(p.ties);
      box.append(item);
    });
    for (const m of S.markers) {
      const item = Object.assign(document.createElement('span'), { className: 'mark', textContent: `${when(m.term)}: ${m.text}` });
      item.dataset.testid = 'lever-mark';
      box.append(item);
    }
  }

  function updateProgramme() {
    showMarkers();
    S.programme.forEach((p, i) => {
      const el = document.querySelector(`[data-testid="arm-ties-${i}"]`);
      if (el) el.textContent = p.launch < 0 ? 'no programme' : `${p.ties} programme tie${p.ties === 1 ? '' : 's'} now`;
    });
  }

  // A line chart on a canvas: x in terms (labelled in years), y fitted to the data with nice ticks.
  function drawLineChart(canvas, series, xMax, perYear, { integer = false, minSpan: span = 0, marks = [] } = {}) {
    const dpr = window.devicePixelRatio || 1;
    const W = canvas.clientWidth, H = canvas.clientHeight;
    if (!W || !H) return;
    if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
      canvas.width = Math.round(W * dpr);
      canvas.height = Math.round(H * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const presenting = document.documentElement.classList.contains('presentation');
    const fs = Math.round(rootFont() * (presenting ? 0.85 : 0.75));
    const L = fs * 4.2, R = 10, T = 10, B = fs * 2;
    const all = series.flatMap((s) => s.ys).filter(Number.isFinite);
    let lo = all.length ? Math.min(...all) : 0, hi = all.length ? Math.max(...all) : 1;
    const minSpan = integer ? 2 : Math.max(span, Math.max(Math.abs(hi), Math.abs(lo), 1) * 0.02);
    if (hi - lo < minSpan) { const mid = (hi + lo) / 2; lo = mid - minSpan / 2; hi = mid + minSpan / 2; }
    const nonNegative = all.length && all.every((v) => v >= 0);
    if (nonNegative && lo < 0) lo = 0;
    if (nonNegative && hi - lo < minSpan) hi = lo + minSpan;
    // As many ticks as fit with their labels at least 1.6 lines apart.
    const fit = Math.max(1, Math.min(4, Math.floor((H - T - B) / (fs * 1.6)) - 1));
    let ticks = niceTicks(lo, hi, fit, integer).filter((t) => !nonNegative || t >= 0);
    lo = Math.min(lo, ticks[0]); hi = Math.max(hi, ticks[ticks.length - 1]);
    while (ticks.length > 2 && ((H - T - B) / (hi - lo)) * (ticks[1] - ticks[0]) < fs * 1.6) ticks = ticks.filter((_, i) => i % 2 === 0);
    const px = (x) => L + (x / Math.max(xMax, 1)) * (W - L - R);
    const py = (y) => T + (1 - (y - lo) / (hi - lo)) * (H - T - B);
    ctx.font = `${fs}px system-ui, sans-serif`;
    ctx.fillStyle = '#555';
    ctx.strokeStyle = '#e3e6ea';
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
    const tickGapPx = ticks.length > 1 ? ((H - T - B) / (hi - lo)) * step : Infinity;
    for (const t of ticks) {
      ctx.beginPath(); ctx.moveTo(L, py(t)); ctx.lineTo(W - R, py(t)); ctx.stroke();
      ctx.fillText(fmtTick(t, step), L - 5, py(t));
    }
    // x axis: a tick per year, labelled as often as fits.
    const years = xMax / perYear;
    const every = [1, 2, 5, 10, 20, 50].find((k) => ((W - L - R) / years) * k >= fs * 2.4) || 100;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.strokeStyle = '#9aa3ad';
    ctx.beginPath(); ctx.moveTo(L, H - B); ctx.lineTo(W - R, H - B); ctx.stroke();
    for (let y = 0; y <= years; y++) {
      ctx.beginPath(); ctx.moveTo(px(y * perYear), H - B); ctx.lineTo(px(y * perYear), H - B + 3); ctx.stroke();
      if (y % every === 0 && y < years) ctx.fillText(String(y), px(y * perYear), H - B + 5);
    }
    ctx.textAlign = 'right';
    ctx.fillText('year', L - 8, H - B + 5);
    for (const m of marks) {
      if (m.term < 0 || m.term > xMax) continue;
      ctx.save();
      ctx.strokeStyle = m.colour;
      ctx.setLineDash(m.dash);
      ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(px(m.term), T); ctx.lineTo(px(m.term), H - B); ctx.stroke();
      ctx.restore();
    }
    for (const s of series) {
      if (!s.ys.length) continue;
      ctx.strokeStyle = s.colour;
      ctx.lineWidth = presenting ? 3 : 2;
      ctx.lineJoin = 'round';
      ctx.beginPath();
      s.ys.forEach((y, j) => (j ? ctx.lineTo(px(s.xs[j]), py(y)) : ctx.moveTo(px(s.xs[j]), py(y))));
      ctx.stroke();
      const j = s.ys.length - 1;
      ctx.fillStyle = s.colour;
      ctx.beginPath(); ctx.arc(px(s.xs[j]), py(s.ys[j]), 3, 0, 2 * Math.PI); ctx.fill();
    }
    return { lo, hi, fontPx: fs, tickGapPx, ticks: ticks.length, marks: marks.filter((m) => m.term >= 0 && m.term <= xMax).length };
  }

  function niceTicks(lo, hi, n, integer) {
    const raw = integer ? Math.max(1, (hi - lo) / n) : (hi - lo) / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw) || 10 * mag;
    const ticks = [];
    for (let t = Math.floor(lo / step) * step; t <= hi + step * 0.5; t += step) ticks.push(+t.toFixed(10));
    return ticks;
  }

  const fmtTick = (t, step) => (Math.abs(t) >= 1000 ? t.toFixed(0) : t.toFixed(Math.max(0, Math.min(3, -Math.floor(Math.log10(step) + 1e-9)))));
  const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
  const fmtSpeed = (v) => (Number(v) % 1 ? Number(v).toFixed(1) : String(Number(v)));

  // ---------------------------------------------------------------- school panel
  function schoolTitle(k) {
    const sc = S.hello.schools;
    return `School ${k + 1} · Area ${sc.area[k] + 1} · ${PHASES[sc.phase[k]] || 'phase ' + sc.phase[k]}`;
  }

  function openPanel(school, world) {
    S.selected = { school, world };
    S.panel.data = [];
    $('school-title').textContent = schoolTitle(school);
    const box = $('school-charts');
    box.textContent = '';
    for (const s of SCHOOL_SERIES) {
      const fig = document.createElement('figure');
      fig.className = 'chart small';
      fig.dataset.testid = `school-chart-${s.key}`;
      fig.dataset.points = '0';
      const cap = document.createElement('figcaption');
      cap.textContent = `${s.label} (${s.unit})`;
      const canvas = document.createElement('canvas');
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `${s.label} of this school over time`);
      fig.append(cap, canvas);
      box.append(fig);
    }
    $('school-panel').hidden = false;
    S.dirty = true;
    refreshPanel(true);
  }

  function closePanel() {
    S.selected = null;
    $('school-panel').hidden = true;
    S.dirty = true;
    publishDebug();
  }

  // Fetch the selected school's history (all worlds, for comparing) at most twice a second; a
  // refresh asked for meanwhile runs afterwards, so the panel always catches up with the last frame.
  async function refreshPanel(force) {
    if (!S.selected || !backend || !backend.id) return;
    const wait = force ? 0 : 500 - (performance.now() - S.panel.last);
    if (S.panel.inflight || wait > 0) {
      if (!S.panel.again) S.panel.again = setTimeout(() => { S.panel.again = 0; refreshPanel(true); }, Math.max(wait, 100));
      return;
    }
    S.panel.inflight = true;
    S.panel.last = performance.now();
    const { school } = S.selected;
    const worlds = S.worlds.length > 1 ? S.worlds.map((_, i) => i) : [0];
    try {
      const data = await Promise.all(worlds.map((w) => backend.school(school, w)));
      if (S.selected && S.selected.school === school && data.every(Boolean)) {
        S.panel.data = data;
        drawPanel();
      }
    } catch (e) { /* the stream's error handler reports lost connections */ }
    S.panel.inflight = false;
  }

  function drawPanel() {
    const figs = $('school-charts').querySelectorAll('figure');
    SCHOOL_SERIES.forEach((s, j) => {
      const series = S.panel.data.map((d, i) => ({ xs: d.terms, ys: d[s.key] || [], colour: seriesColour(i) }));
      figs[j].dataset.points = String(series[0].ys.length);
      drawLineChart(figs[j].querySelector('canvas'), series, S.hello.years * S.hello.terms_per_year, S.hello.terms_per_year,
        { integer: s.integer });
    });
    publishDebug();
  }

  // ---------------------------------------------------------------- explanations, About, arms
  // Each lever's "?" opens its explanation under it (tap or click; again to close). The text is the
  // page's short line, then what the model does, from the mechanism's and parameter's own table.
  function buildExplanations(about) {
    if (!about) return;
    for (const doc of about.levers) {
      const p = document.getElementById(`explain-text-${doc.lever}`);
      if (!p) continue;
      if (p.dataset.intro === undefined) p.dataset.intro = p.textContent.trim();
      p.textContent = p.dataset.intro || doc.how;
      const model = Object.assign(document.createElement('span'), { className: 'model' });
      model.textContent = doc.param
        ? `In the model: ${doc.param.name} — ${doc.param.meaning}.`
        : `In the model: ${doc.mechanism} — ${doc.summary}`;
      p.append(model);
    }
  }

  function toggleExplanation(lever, open) {
    const button = document.querySelector(`[data-explain="${lever}"]`);
    const p = document.getElementById(`explain-text-${lever}`);
    if (!button || !p) return;
    const show = open === undefined ? p.hidden : open;
    p.hidden = !show;
    button.setAttribute('aria-expanded', String(show));
    if (show) S.explained.add(lever); else S.explained.delete(lever);
  }

  function buildAbout(about) {
    const body = $('about-body');
    body.textContent = '';
    if (!about) return;
    const add = (tag, text, cls) => body.appendChild(Object.assign(document.createElement(tag), { textContent: text, className: cls || '' }));
    // A file's comment, its lines joined into paragraphs (a blank comment line ends one).
    const comment = (text) => {
      for (const para of (text || '(no comment in the file)').split(/\n\s*\n/)) add('p', para.replace(/\s*\n\s*/g, ' '));
    };
    add('h3', `The scenario (${about.scenario.file})`);
    comment(about.scenario.comment);
    add('h3', 'The levers');
    const dl = body.appendChild(document.createElement('dl'));
    for (const doc of about.levers) {
      dl.append(Object.assign(document.createElement('dt'), { textContent: doc.label }));
      const dd = document.createElement('dd');
      dd.append(doc.how + ' ');
      dd.append(Object.assign(document.createElement('code'), { textContent: doc.mechanism }));
      dd.append(`: ${doc.summary}`);
      if (doc.param) {
        dd.append(document.createElement('br'));
        dd.append(Object.assign(document.createElement('code'), { textContent: doc.param.name }));
        dd.append(`: ${doc.param.meaning}${doc.param.unit ? ` (${doc.param.unit})` : ''}.`);
        if (doc.param.source) dd.append(` Source: ${doc.param.source}.`);
      }
      dd.dataset.testid = `about-lever-${doc.lever}`;
      dl.append(dd);
    }
    add('h3', 'Compare: the two regimes');
    for (const arm of about.arms) {
      add('p', `${arm.label} (${arm.file})`).style.fontWeight = '700';
      comment(arm.comment);
    }
    add('p', 'Full model description: docs/ODD.md; parameters and their sources: `schoolsim describe`.', 'hint');
  }

  function openAbout(open) {
    $('about').hidden = !open;
    $('about-open').setAttribute('aria-expanded', String(open));
    if (open) $('about-close').focus();
  }

  // Compare mode: a card per arm, saying which file it runs and how it differs from the other.
  function buildArms(h) {
    const box = $('arms');
    box.textContent = '';
    if (h.mode !== 'compare') return;
    box.append(Object.assign(document.createElement('div'), {
      className: 'hint', textContent: 'Same starting world, two regimes. Each card lists what its world does differently.',
    }));
    h.worlds.forEach((w, i) => {
      const card = Object.assign(document.createElement('section'), { className: 'arm-card' });
      card.dataset.testid = `arm-card-${i}`;
      card.style.color = WORLD_COLOURS[i];
      card.append(Object.assign(document.createElement('h3'), { textContent: w.label }));
      card.append(Object.assign(document.createElement('div'), { className: 'file', textContent: w.file }));
      card.append(Object.assign(document.createElement('p'), { textContent: w.description }));
      const ties = Object.assign(document.createElement('p'), { className: 'ties', textContent: '' });
      ties.dataset.testid = `arm-ties-${i}`;
      card.append(ties);
      const ul = document.createElement('ul');
      for (const d of w.differs) ul.append(Object.assign(document.createElement('li'), { textContent: d.text, title: d.detail }));
      card.append(ul);
      box.append(card);
    });
  }

  // ---------------------------------------------------------------- export
  function download(name, blob) {
    const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }
  const fileStem = () => `schoolsim-${S.hello.scenario}-${S.hello.mode}-seed${S.hello.seed}`;

  // A chart as a PNG: its title, the legend and the plot on a white background.
  function downloadChart(chart) {
    const src = chart.canvas;
    const dpr = window.devicePixelRatio || 1;
    const head = Math.round(rootFont() * 1.8 * dpr);
    const out = document.createElement('canvas');
    out.width = src.width;
    out.height = src.height + head;
    const ctx = out.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.fillStyle = '#1d232a';
    ctx.font = `700 ${Math.round(rootFont() * 0.95 * dpr)}px system-ui, sans-serif`;
    ctx.textBaseline = 'middle';
    ctx.fillText(`${chart.measure.label} (${chart.measure.unit})`, 8 * dpr, head / 2);
    let x = out.width - 8 * dpr;
    ctx.textAlign = 'right';
    [...S.worlds].reverse().forEach((w, j) => {
      const i = S.worlds.length - 1 - j;
      ctx.fillStyle = seriesColour(i);
      if (S.worlds.length > 1) { ctx.fillText(w.label, x, head / 2); x -= ctx.measureText(w.label).width + 12 * dpr; }
    });
    ctx.drawImage(src, 0, head);
    out.toBlob((blob) => download(`${fileStem()}-${chart.measure.name}.png`, blob), 'image/png');
  }

  // The run's series as CSV: one row per world and term, a column per chart measure.
  function seriesCsv() {
    const names = S.hello.measures.map((m) => m.name);
    const rows = [['world', 'term', 'year', ...names].join(',')];
    S.worlds.forEach((w) => {
      w.history.terms.forEach((t, j) => {
        const values = names.map((n) => (w.history[n] && Number.isFinite(w.history[n][j]) ? w.history[n][j] : ''));
        rows.push([`"${w.label.replace(/"/g, '""')}"`, t, (t / S.hello.terms_per_year).toFixed(3), ...values].join(','));
      });
    });
    return rows.join('\n') + '\n';
  }

  function setPresentation(on) {
    document.documentElement.classList.toggle('presentation', on);
    $('presentation').setAttribute('aria-pressed', String(on));
    S.dirty = true;
    for (const m of S.maps) layoutMap(m);
    updateCharts();
  }

  // ---------------------------------------------------------------- controls
  function buildAreaOptions(areas) {
    const sel = $('area_strategy');
    sel.textContent = '';
    const add = (value, text) => sel.append(Object.assign(document.createElement('option'), { value, textContent: text }));
    add('off', 'off');
    add('all', 'all areas');
    for (let a = 0; a < areas; a++) add(String(a), `area ${a + 1} only`);
  }

  // Show the levers the server holds. `force` also overwrites a control the teacher is touching.
  function applyLevers(lv, force) {
    if (!lv) return;
    S.levers = lv;
    const choice = $('choice');
    if (force || document.activeElement !== choice) {
      choice.value = lv.choice;
      $('choice-value').textContent = Number(lv.choice).toFixed(2);
    }
    for (const el of document.querySelectorAll('input[data-lever]')) el.checked = Boolean(lv[el.dataset.lever]);
    $('area_strategy').value = String(lv.area_strategy);
    const prog = lv.programme || 'none';
    $('programme-status').textContent = prog === 'none' ? 'no programme' : prog;
    $('programme').disabled = prog.startsWith('launches');
    publishDebug();
  }

  function debounce(fn, ms) {
    let t = 0;
    return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  }

  function bindControls() {
    for (const button of document.querySelectorAll('[data-explain]')) {
      button.addEventListener('click', () => toggleExplanation(button.dataset.explain));
    }
    $('about-open').addEventListener('click', () => openAbout($('about').hidden));
    $('about-close').addEventListener('click', () => openAbout(false));
    $('presentation').addEventListener('click', () => setPresentation(!document.documentElement.classList.contains('presentation')));
    $('export-csv').addEventListener('click', () => {
      if (S.hello) download(`${fileStem()}.csv`, new Blob([seriesCsv()], { type: 'text/csv' }));
    });
    $('play').addEventListener('click', async () => {
      if (S.playing) return control('pause');
      if (S.finished) await control('reset');
      control('play');
    });
    $('step').addEventListener('click', () => control('step'));
    $('reset').addEventListener('click', () => control('reset'));
    $('new-world').addEventListener('click', () => control('reset', { seed: String(1 + Math.floor(Math.random() * 999999)) }));
    const sendSpeed = debounce((v) => control('speed', { value: v }), 150);
    $('speed').addEventListener('input', (e) => {
      $('speed-value').textContent = fmtSpeed(e.target.value);
      sendSpeed(e.target.value);
    });
    const sendChoice = debounce((v) => sendLevers({ choice: v }), 150);
    $('choice').addEventListener('input', (e) => {
      S.editingUntil = performance.now() + 1000;
      $('choice-value').textContent = Number(e.target.value).toFixed(2);
      sendChoice(e.target.value);
    });
    for (const el of document.querySelectorAll('input[data-lever]')) {
      el.addEventListener('change', () => sendLevers({ [el.dataset.lever]: String(el.checked) }));
    }
    $('area_strategy').addEventListener('change', (e) => sendLevers({ area_strategy: e.target.value }));
    $('programme').addEventListener('click', () => sendLevers({ programme: 'launch' }));
    $('compare').addEventListener('click', () => {
      const compare = S.hello && S.hello.mode === 'compare';
      control('mode', { value: compare ? 'single' : 'compare' });
    });
    for (const radio of document.querySelectorAll('input[name="colour"]')) {
      radio.addEventListener('change', () => {
        S.colourBy = radio.value;
        $('scale-label').textContent = radio.value;
        S.dirty = true;
        publishDebug();
      });
    }
    $('school-close').addEventListener('click', closePanel);
    new ResizeObserver(() => { if (S.selected && S.panel.data.length) drawPanel(); }).observe($('school-charts'));
    $('message-close').addEventListener('click', () => { $('message').hidden = true; });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !$('about').hidden) openAbout(false);
      else if (e.key === 'Escape' && S.selected) closePanel();
      if (e.key === ' ' && !e.target.closest('button, input, select')) { e.preventDefault(); $('play').click(); }
    });
  }

  let messageTimer = 0;
  function showMessage(text, kind = 'error') {
    const box = $('message');
    $('message-text').textContent = text;
    box.className = `message ${kind}`;
    box.hidden = false;
    box.dataset.count = String(Number(box.dataset.count || 0) + 1);
    clearTimeout(messageTimer);
    messageTimer = setTimeout(() => { box.hidden = true; }, 10000);
  }

  // ---------------------------------------------------------------- test/debug view
  const debug = {
    get session() { return backend && backend.id; },
    get backend() { return backend && backend.kind; },
    benchmark(terms) { return backend && backend.benchmark ? backend.benchmark(terms) : null; },
    runForTest(mode, terms) { return backend && backend.runForTest ? backend.runForTest(mode, terms) : null; },
    control(action, extra) { return control(action, extra || {}); },
    get mode() { return S.hello ? S.hello.mode : null; },
    get term() { return S.term; },
    get playing() { return S.playing; },
    get finished() { return S.finished; },
    get speed() { return S.speed; },
    get levers() { return S.levers; },
    get colourBy() { return S.colourBy; },
    get frames() { return S.frames; },
    get hellos() { return S.hellos; },
    get connected() { return $('connection').hidden; },
    get markers() { return S.markers.map(({ term, text }) => ({ term, text })); },
    get programme() { return S.programme.map((p) => ({ ...p })); },
    get drawn() {   // each chart's y range, tick font and marks as last drawn
      const out = {};
      for (const [name, c] of S.charts) out[name] = c.drawn || null;
      return out;
    },
    csv() { return S.hello ? seriesCsv() : ''; },
    get selected() { return S.selected; },
    maps: [],
    charts: {},
    mapHash(i) {   // a hash of the map's pixels, to see that the picture changed
      const c = S.maps[i] && S.maps[i].canvas;
      if (!c || !c.width) return 0;
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let h = 2166136261;
      for (let j = 0; j < px.length; j += 4) h = Math.imul(h ^ (px[j] | (px[j + 1] << 8) | (px[j + 2] << 16)), 16777619);
      return h >>> 0;
    },
  };

  function publishMapDebug() {
    debug.maps = S.maps.map((m, i) => {
      const w = S.worlds[i];
      const live = [...w.ties.values()].filter((t) => !t.died);
      const tieKinds = {};
      for (const t of live) tieKinds[t.kind] = (tieKinds[t.kind] || 0) + 1;
      m.canvas.dataset.ties = String(live.length);
      return {
        label: w.label,
        schools: S.hello.schools.x.length,
        ties: live.length,
        tieKinds,
        positions: m.pos.map(([x, y]) => [Math.round(x), Math.round(y)]),   // CSS px in the canvas
        radii: w.target ? w.target.pupils.map((p) => +targetRadius(m, p).toFixed(2)) : [],
        colours: w.target ? w.target[S.colourBy].map(colourOf) : [],
        shownColours: w.shown.v.map(colourOf),
      };
    });
  }

  function publishDebug() {
    if (!S.hello) return;
    debug.charts = {};
    for (const ms of S.hello.measures) debug.charts[ms.name] = S.worlds.map((w) => (w.history[ms.name] || []).slice());
    debug.school = S.panel.data;
    publishMapDebug();
  }

  window.schoolsim = debug;

  bindControls();
  backend = chooseBackend();
  backend.start({ hello: onHello, frame: onFrame, status: onStatus });
  requestAnimationFrame(tick);
})();
