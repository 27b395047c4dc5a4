'use strict';
/*
 * The admin dashboard (issue 12 items 1, 2 and 8): /dashboard in headless
 * Chromium (Debian's chromium, driven with puppeteer-core; no browser is
 * downloaded) refuses to show anything without a key or with a wrong one,
 * shows the figures of /socket-stats once 200 /ws clients are connected,
 * draws a growing history chart, lists and filters the event log, and its
 * disconnect-user and broadcast forms (confirmed in the dialog) reach the
 * clients. A screenshot goes to $WSGATE_TEST_OUT (default
 * tests/integration/out/). Then the JSON side: /api/history and
 * /api/events (since, limit, sequence gaps once the ring wraps, 401, 400),
 * the master's own events (respawn, reload) and a slow consumer's close.
 * Issue: "Operations: the live dashboard ...".
 * Run: WSGATE_BIN=$PWD/wsgate node --test --test-concurrency=1 \
 *          tests/integration/dashboard.test.js
 * CHROMIUM overrides the browser (default /usr/bin/chromium).
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { client, now, open, signJwt, tracker } = require('./lib/wsj');
const sio = require('./lib/sio');

const SECRET = 'itest-dashboard-secret-7c1e';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = process.env.WSGATE_TEST_OUT || path.join(__dirname, 'out');
const N = 200, USERS = 100, ROOMS = 5;

const tok = (claims) => signJwt({ exp: now() + 600, ...claims },
    { secret: SECRET });

async function launch(t) {
    let puppeteer;
    try {
        puppeteer = require('puppeteer-core');
    } catch (e) {
        throw new Error(`puppeteer-core is not installed (npm ci in `
            + `tests/integration): ${e.message}`);
    }
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing (apt-get `
        + 'install chromium, or set CHROMIUM)');
    const browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
            '--no-first-run', '--no-default-browser-check'],
        timeout: 30000,
    });
    t.after(() => browser.close().catch(() => {}));
    return browser;
}

/* Figures shown on the page: {conn_open: n, ...} from data-value. */
function pageFigures(page) {
    return page.evaluate(() => {
        const o = {};
        for (const el of document.querySelectorAll('[id^="v-"]'))
            o[el.id.slice(2)] = Number(el.dataset.value);
        return o;
    });
}

async function openMany(port, n, opts, track, par = 50) {
    const out = [];
    for (let i = 0; i < n; i += par) {
        const batch = [];
        for (let j = i; j < Math.min(n, i + par); j++)
            batch.push(open(port, { track, queueEvents: true, ...opts(j) },
                10000));
        out.push(...await Promise.all(batch));
    }
    return out;
}

test('dashboard in headless Chromium: key, figures, chart, events, '
    + 'disconnect-user, broadcast, screenshot', async (t) => {
    const d = await startDaemon(t, { config: { workers: 2,
        jwt_secret: SECRET, room_rule: 'room-* *', log_level: 'notice' } });
    const track = tracker(t);
    const browser = await launch(t);
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    const dialogs = [];
    let answer = true;
    page.on('dialog', async (dg) => {
        dialogs.push(dg.message());
        await (answer ? dg.accept() : dg.dismiss());
    });
    const url = `http://127.0.0.1:${d.adminPort}/dashboard`;

    /* Without a key: the sign-in form only, no figures, no data. */
    const resp = await page.goto(url, { waitUntil: 'load' });
    assert.equal(resp.status(), 200);
    assert.match(resp.headers()['content-security-policy'],
        /default-src 'none'/);
    assert.equal(await page.$eval('#dash', (e) => e.hidden), true);
    assert.equal(await page.$eval('#login', (e) => e.hidden), false);
    assert.deepEqual(await pageFigures(page), {});
    assert.ok(!(await page.content()).includes(d.apiKey),
        'the page carries no key');

    /* A wrong key: refused, said so, nothing shown, nothing kept. */
    await page.type('#key', 'not-the-key');
    await page.click('#login-btn');
    await page.waitForFunction(() => /Wrong key/.test(
        document.getElementById('login-msg').textContent), { timeout: 10000 });
    assert.equal(await page.$eval('#dash', (e) => e.hidden), true);
    assert.equal(await page.evaluate(() =>
        sessionStorage.getItem('wsgate_admin_key')), null);

    /* The right key: the dashboard. */
    await page.type('#key', d.apiKey);
    await page.click('#login-btn');
    await page.waitForFunction(() => !document.getElementById('dash').hidden
        && document.getElementById('v-conn_open'), { timeout: 10000 });
    assert.equal(await page.evaluate(() =>
        sessionStorage.getItem('wsgate_admin_key')), d.apiKey);
    /* A reload of the tab keeps it (sessionStorage). */
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => !document.getElementById('dash').hidden
        && document.getElementById('v-conn_open'), { timeout: 10000 });

    /* 200 clients of 100 users in 5 rooms, and one bad token. */
    const clients = await openMany(d.port, N, (i) => ({
        token: tok({ sub: `u${i % USERS}` }) }), track);
    await Promise.all(clients.map(async (c, i) => {
        const a = await c.request({ type: 'subscribe',
            room: `room-${i % ROOMS}` }, 10000);
        assert.equal(a.ok, true, JSON.stringify(a));
    }));
    const bad = client(d.port, { token: 'x.y.z', track });
    await bad.closed;

    const stats = await waitFor(async () => {
        const s = await d.stats();
        return s.totals.conn_open === N && s.totals.clients === N
            && s.totals.subscriptions === N + N ? s : null;
    }, 10000, `${N} clients in /socket-stats`, 100);
    const keys = ['conn_open', 'wsj_open', 'eio_open', 'clients', 'users',
        'rooms', 'subscriptions'];
    const want = Object.fromEntries(keys.map((k) => [k, stats.totals[k]]));
    /* users is summed over workers: a user on both counts twice. */
    assert.ok(want.users >= USERS && want.users <= 2 * USERS);
    let shown;
    await waitFor(async () => {
        shown = await pageFigures(page);
        return keys.every((k) => shown[k] === want[k]);
    }, 10000, 'page figures equal to /socket-stats', 200).catch((e) => {
        throw new Error(`${e.message}: page ${JSON.stringify(shown)}, `
            + `stats ${JSON.stringify(want)}`);
    });
    assert.equal(shown.workers, 2);
    /* Live from the server-sent events of /api/stream, not polling. */
    assert.equal(await page.$eval('#status', (e) => e.dataset.mode),
        'stream');

    /* By transport and protocol: Socket.IO clients beside the /ws ones,
     * 3 on polling only and 2 on WebSocket. */
    const sioTok = tok({ sub: 'sio-user' });
    const sios = [];
    for (const mode of ['polling', 'polling', 'polling', 'crm', 'crm'])
        sios.push(await sio.connect(d.port, { ...sio.MODES[mode],
            auth: { token: sioTok } }));
    t.after(() => sios.forEach((s) => s.close()));
    const byTransport = { wsj_open: N, sio_ws: 2, eio_polling: 3,
        eio_open: 5 };
    await waitFor(async () => {
        const s = (await d.stats()).totals;
        return s.wsj_open === N && s.eio_open === 5 && s.eio_polling === 3;
    }, 10000, 'Socket.IO sessions in /socket-stats', 100);
    await waitFor(async () => {
        shown = await pageFigures(page);
        return Object.keys(byTransport).every(
            (k) => shown[k] === byTransport[k]);
    }, 10000, 'connections by transport on the page', 200).catch((e) => {
        throw new Error(`${e.message}: page ${JSON.stringify(shown)}`);
    });
    /* Worker rows: the pids of /socket-stats; top rooms: 40 each. */
    const pids = stats.workers.filter((w) => w.state === 'running')
        .map((w) => String(w.pid)).sort();
    assert.deepEqual((await page.$$eval('#workers tbody tr',
        (rs) => rs.map((r) => r.dataset.pid))).sort(), pids);
    await waitFor(async () => {
        const rows = await page.$$eval('#rooms tbody tr', (rs) => rs.map(
            (r) => [...r.cells].map((c) => c.textContent)));
        return rows.filter(([r, m]) => /^room-\d$/.test(r)
            && m === String(N / ROOMS)).length === ROOMS;
    }, 5000, 'top rooms on the page', 200);

    /* The chart grows. */
    const points = () => page.$eval('#chart',
        (c) => Number(c.dataset.points));
    const p0 = await points();
    await waitFor(async () => await points() >= p0 + 2, 10000,
        'the chart to gain points', 200);

    /* Event log: connects, the auth failure; the kind filter. */
    await waitFor(() => page.$$eval('#events li[data-kind="connect"]',
        (l) => l.length >= 50), 5000, 'connect events on the page', 200);
    await page.select('#f-kind', 'auth_failure');
    const kinds = await waitFor(async () => {
        const k = await page.$$eval('#events li', (l) => l.map(
            (x) => [x.dataset.kind, x.textContent]));
        return k.length ? k : null;
    }, 5000, 'an auth_failure event', 200);
    assert.ok(kinds.every(([k]) => k === 'auth_failure'), JSON.stringify(
        kinds));
    assert.match(kinds[0][1], /TOKEN_/);
    /* Newest first: sequence numbers go down. */
    await page.select('#f-kind', '');
    const seqs = await page.$$eval('#events li',
        (l) => l.map((x) => Number(x.dataset.seq)));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a));

    /* disconnect-user: dismissing the dialog does nothing ... */
    const victims = clients.filter((_, i) => i % USERS === 7);
    assert.equal(victims.length, 2);
    answer = false;
    await page.type('#dc-user', 'u7');
    await page.click('#dc-form button[type="submit"]');
    await page.waitForFunction(() => document.getElementById('dc-msg')
        .textContent === 'Cancelled.', { timeout: 5000 });
    await sleep(300);
    assert.ok(victims.every((c) => c.closeInfo === null));
    /* ... accepting it closes both of u7's connections. */
    answer = true;
    await page.click('#dc-form button[type="submit"]');
    const closes = await Promise.all(victims.map((c) => c.waitClose(5000)));
    for (const c of closes)
        assert.equal(c.code, 4003, JSON.stringify(c));
    await page.waitForFunction(() => /2 connection\(s\) closed/.test(
        document.getElementById('dc-msg').textContent), { timeout: 5000 });
    assert.equal(dialogs.length, 2);
    assert.match(dialogs[1], /u7/);

    /* Broadcast: a client gets the maintenance event. */
    const listener = clients[0];
    await page.type('#bc-msg', 'restart at 18:00');
    await page.select('#bc-type', 'maintenance');
    await page.click('#bc-form button[type="submit"]');
    const ev = await listener.nextMatch((m) => m.type === 'event'
        && m.event === 'maintenance', 5000, 'maintenance event');
    assert.equal(ev.data.message, 'restart at 18:00');
    assert.equal(ev.data.type, 'maintenance');
    assert.match(dialogs[2], /restart at 18:00/);

    /* Both admin actions are in the log, found by the text filter. */
    await page.type('#f-text', 'disconnect-user u7');
    await waitFor(() => page.$$eval('#events li[data-kind="admin"]',
        (l) => l.length === 1), 5000, 'the disconnect-user admin event', 200);
    await page.$eval('#f-text', (e) => { e.value = ''; });
    await page.select('#f-kind', 'admin');
    await waitFor(() => page.$$eval('#events li', (l) => l.length === 2
        && /broadcast \(maintenance\): restart at 18:00/.test(
            l[0].textContent)), 5000, 'the broadcast admin event', 200);
    await page.select('#f-kind', '');

    /* Screenshots, wide and on a phone (no sideways scrolling). */
    fs.mkdirSync(OUT, { recursive: true });
    const shot = path.join(OUT, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(fs.statSync(shot).size > 10000);
    t.diagnostic(`screenshot: ${shot}`);
    console.log(`# dashboard screenshot: ${shot}`);
    await page.setViewport({ width: 390, height: 844, isMobile: true });
    await sleep(300);
    const wide = await page.evaluate(() => [window.innerWidth,
        document.documentElement.scrollWidth]);
    assert.deepEqual(wide, [390, 390], 'laid out for a 390 px phone, '
        + 'no sideways scrolling');
    const phone = path.join(OUT, 'dashboard-phone.png');
    await page.screenshot({ path: phone, fullPage: true });
    console.log(`# dashboard phone screenshot: ${phone}`);

    /* Signing out forgets the key. */
    await page.click('#logout');
    assert.equal(await page.evaluate(() =>
        sessionStorage.getItem('wsgate_admin_key')), null);
    assert.equal(await page.$eval('#dash', (e) => e.hidden), true);

    await browser.close();
    for (const c of clients)
        c.terminate();
    await d.stop(10000);
});

/* ------------------------------------------------------------------ */

async function events(d, q) {
    const r = await d.admin(`/api/events${q}`, { auth: true });
    assert.equal(r.status, 200, r.body);
    return r.json;
}

test('/api/events and /api/history: auth, 400s, sequence gaps, paging, '
    + 'master events', async (t) => {
    const LOG = 16;
    const d = await startDaemon(t, { config: { workers: 2,
        jwt_secret: SECRET, event_log_size: LOG, log_level: 'notice' } });
    const track = tracker(t);

    for (const p of ['/api/events', '/api/history', '/api/workers']) {
        let r = await d.admin(p);
        assert.equal(r.status, 401, `${p} without a key`);
        assert.equal(r.json.error.code, 'UNAUTHORIZED');
        r = await d.admin(p, { auth: 'wrong' });
        assert.equal(r.status, 401, `${p} with a wrong key`);
    }
    const page = await d.admin('/dashboard');
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html/);
    for (const q of ['?since=-1', '?since=abc', '?limit=0', '?limit=10001',
        '?limit=1.5', '?since=', '?limit=99999999999999999999']) {
        const r = await d.admin(`/api/events${q}`, { auth: true });
        assert.equal(r.status, 400, `/api/events${q}: ${r.body}`);
        assert.equal(r.json.ok, false);
        assert.equal(r.json.error.code, 'BAD_PARAM');
    }
    let r = await d.admin('/api/history?since=x', { auth: true });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'BAD_PARAM');

    /* Nothing yet from clients; then a bad token and 12 open/close pairs:
     * 25 events into a ring of 16. */
    const e0 = await events(d, '');
    assert.equal(e0.first_seq, 1);
    const start = e0.next_seq;
    const bad = client(d.port, { token: 'x.y.z', track });
    await bad.closed;
    for (let i = 0; i < 12; i++) {
        const c = await open(d.port, { track,
            token: tok({ sub: `j${i}` }) });
        c.close(1000);
        await c.waitClose(3000);
    }
    const all = await waitFor(async () => {
        const e = await events(d, '?since=1&limit=100');
        return e.next_seq - start >= 25 ? e : null;
    }, 5000, '25 events', 100);
    assert.equal(all.next_seq - all.first_seq, LOG, 'the ring holds 16');
    assert.equal(all.missed, all.first_seq - 1);
    assert.ok(all.missed > 0);
    assert.equal(all.events.length, LOG);
    all.events.forEach((e, i) => assert.equal(e.seq, all.first_seq + i));
    assert.equal(all.next, all.next_seq);
    assert.equal(all.more, false);
    const disc = all.events.filter((e) => e.kind === 'disconnect');
    assert.ok(disc.length >= 5);
    for (const e of disc) {
        assert.match(e.peer, /^127\.0\.0\.1:\d+$/);
        assert.ok(e.text.length > 0, 'a reason');
        assert.ok(e.worker === 0 || e.worker === 1);
        assert.ok(e.pid > 0);
    }

    /* Paging with limit: contiguous, more until the end. */
    let since = all.first_seq;
    const seen = [];
    for (let guard = 0; guard < 10; guard++) {
        const p = await events(d, `?since=${since}&limit=5`);
        assert.equal(p.missed, 0);
        seen.push(...p.events.map((e) => e.seq));
        since = p.next;
        if (!p.more)
            break;
        assert.equal(p.events.length, 5);
    }
    assert.deepEqual(seen, all.events.map((e) => e.seq));
    /* Without since: the newest limit. */
    const newest = await events(d, '?limit=3');
    assert.deepEqual(newest.events.map((e) => e.seq),
        [newest.next_seq - 3, newest.next_seq - 2, newest.next_seq - 1]);

    const stats = await d.stats();
    assert.ok(stats.totals.events_logged >= 25);
    assert.equal(stats.totals.events_dropped, 0);

    /* Master events: a killed worker is respawned, a reload. */
    const w0 = stats.workers.find((w) => w.slot === 0
        && w.state === 'running');
    process.kill(w0.pid, 'SIGKILL');
    const wk = await waitFor(async () => {
        const x = await d.admin('/api/workers', { auth: true });
        const row = x.json.workers.find((w) => w.slot === 0
            && w.state === 'running' && w.pid !== w0.pid);
        return row && row.respawns === 1 ? row : null;
    }, 10000, 'slot 0 respawned', 100);
    await d.stats();
    await d.waitReady();
    d.signal('SIGHUP');
    const last = await waitFor(async () => {
        const e = await events(d, '?limit=16');
        const k = e.events.map((x) => x.kind);
        return k.includes('reload') && k.includes('worker') ? e : null;
    }, 10000, 'worker and reload events', 100);
    const died = last.events.find((x) => x.kind === 'worker'
        && /killed by signal 9/.test(x.text));
    assert.ok(died, JSON.stringify(last.events));
    assert.equal(died.pid, w0.pid);
    assert.ok(last.events.some((x) => x.kind === 'worker'
        && /respawned/.test(x.text) && x.pid === wk.pid));
    await d.waitReady();
    await d.stats();

    /* History: a point a second, since filters. */
    const h = await waitFor(async () => {
        const x = await d.admin('/api/history', { auth: true });
        return x.json.seconds.points.length >= 3 ? x.json : null;
    }, 10000, 'three history points', 200);
    assert.equal(h.seconds.interval_s, 1);
    assert.equal(h.minutes.interval_s, 60);
    const pts = h.seconds.points;
    for (let i = 1; i < pts.length; i++)
        assert.ok(pts[i][0] > pts[i - 1][0], 'times increase');
    for (const p of pts) {
        assert.equal(p.length, 3);
        assert.ok(p[1] >= 0 && p[2] >= 0);
    }
    /* since keeps exactly the newer points (not vacuously: the oldest
     * is left out, the others come). */
    const firstT = pts[0][0];
    r = await d.admin(`/api/history?since=${firstT}`, { auth: true });
    const newer = r.json.seconds.points;
    assert.ok(newer.length >= pts.length - 1, JSON.stringify(newer));
    assert.ok(newer.every((p) => p[0] > firstT));
    assert.deepEqual(newer.slice(0, pts.length - 1).map((p) => p[0]),
        pts.slice(1).map((p) => p[0]));

    await d.stop(10000);
});

/* ------------------------------------------------------------------ */

test('a slow consumer\'s close is a slow_consumer event with its peer',
    async (t) => {
    const crypto = require('node:crypto');
    const raw = require('./lib/rawws');
    const d = await startDaemon(t, { config: { echo_app: 'on',
        max_outbound_buffer: 65536, log_level: 'notice' } });
    const c = await raw.open(d.port, '/echo', { discardData: true });
    t.after(() => c.destroy());
    c.pause(); /* never read: the server's output backs up */
    const msg = raw.buildFrame({ opcode: raw.OP.BINARY,
        payload: crypto.randomBytes(16 * 1024) });
    const deadline = Date.now() + 10000;
    let found = null, sent = 0;
    const poller = (async () => {
        while (!found && Date.now() < deadline) {
            const e = await events(d, '?limit=50');
            found = e.events.find((x) => x.kind === 'slow_consumer');
            if (!found)
                await sleep(100);
        }
    })();
    while (!found && sent < 64 * 1024 * 1024 && Date.now() < deadline
        && !c.ended && !c.error) {
        if (!c.write(msg))
            await c.drain(Math.max(1, Math.min(250, deadline - Date.now())));
        sent += msg.length;
    }
    await poller;
    assert.ok(found, `no slow_consumer event after ${sent} bytes`);
    assert.match(found.peer, /^127\.0\.0\.1:\d+$/);
    assert.match(found.text, /slow consumer/);
    c.resume();
    await c.waitEnd(10000);
    /* One event for the one close, not one for the overflow and another
     * for the close it causes. */
    await sleep(300);
    const all = (await events(d, '?limit=1000')).events;
    assert.equal(all.filter((x) => x.kind === 'slow_consumer'
        && x.peer === found.peer).length, 1, JSON.stringify(all));
    await d.stop(10000);
});

test('event log: a Socket.IO polling session is one connect and one '
    + 'disconnect, however many requests it makes; upgrades too',
    async (t) => {
    const d = await startDaemon(t, { config: { workers: 2,
        jwt_secret: SECRET, log_level: 'notice' } });
    const start = (await events(d, '')).next_seq;
    const auth = { token: tok({ sub: 'poller' }) };
    const p = await sio.connect(d.port, { ...sio.MODES.polling, auth });
    const u = await sio.connect(d.port, { ...sio.MODES.default, auth });
    const ids = [p.io.engine.id, u.io.engine.id];
    await waitFor(() => u.io.engine.transport.name === 'websocket', 5000,
        'the upgrade', 20);
    /* Several polling requests: emits go out as POSTs. */
    for (let i = 0; i < 5; i++)
        p.emit('nothing-here', i);
    await sleep(300);
    p.close();
    u.close();
    const mine = (e) => ids.some((id) => e.text.includes(id));
    const got = await waitFor(async () => {
        const e = await events(d, `?since=${start}&limit=1000`);
        return e.events.filter(mine).length >= 4 ? e : null;
    }, 5000, 'connect and disconnect of both sessions', 100);
    for (const id of ids) {
        const own = got.events.filter((e) => e.text.includes(id));
        assert.deepEqual(own.map((e) => e.kind), ['connect', 'disconnect'],
            JSON.stringify(own));
        assert.match(own[0].peer, /^127\.0\.0\.1:\d+$/);
    }
    /* No event per HTTP request, none for the upgrade's WebSocket. */
    assert.equal(got.events.filter((e) => /http reply/.test(e.text))
        .length, 0, JSON.stringify(got.events));
    assert.equal(got.events.filter((e) => e.kind === 'connect').length, 2,
        JSON.stringify(got.events));
});

/* An open /api/stream: its updates as they come (u.updates, parsed),
 * and close(). */
function openStream(d, headers = { Authorization: `Bearer ${d.apiKey}` }) {
    const http = require('node:http');
    return new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: d.adminPort,
            path: '/api/stream', headers, agent: false }, (res) => {
            const s = { status: res.statusCode, headers: res.headers,
                updates: [], body: '', ended: false };
            let buf = '';
            res.setEncoding('utf8');
            res.on('data', (c) => {
                if (s.status !== 200) {
                    s.body += c;
                    return;
                }
                buf += c;
                for (let i; (i = buf.indexOf('\n\n')) >= 0;) {
                    const frame = buf.slice(0, i);
                    buf = buf.slice(i + 2);
                    assert.match(frame, /^data: /, 'one data line a frame');
                    s.updates.push(JSON.parse(frame.slice(6)));
                }
            });
            res.on('end', () => {
                s.ended = true;
            });
            res.on('error', () => {
                s.ended = true;
            });
            s.close = () => req.destroy();
            resolve(s);
        });
        req.on('error', reject);
        req.end();
    });
}

test('/api/stream: server-sent updates every second with only what the '
    + 'reader has not had; auth; admin_max_streams', async (t) => {
    const d = await startDaemon(t, { config: { workers: 2,
        jwt_secret: SECRET, admin_max_streams: 2, log_level: 'notice' } });
    const track = tracker(t);

    const none = await openStream(d, {});
    assert.equal(none.status, 401);
    none.close();
    const wrong = await openStream(d, { Authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    wrong.close();

    const a = await openStream(d);
    t.after(() => a.close());
    assert.equal(a.status, 200);
    assert.match(a.headers['content-type'], /^text\/event-stream/);
    const b = await openStream(d);
    t.after(() => b.close());
    assert.equal(b.status, 200);
    const c = await openStream(d);
    assert.equal(c.status, 503);
    await waitFor(() => c.ended, 3000, 'the 503 body');
    assert.equal(JSON.parse(c.body).error.code, 'TOO_MANY_STREAMS');

    /* The first update at once: stats, workers, history, events. */
    await waitFor(() => a.updates.length >= 1, 3000, 'a first update', 20);
    const u0 = a.updates[0];
    assert.equal(u0.stats.ok, true);
    assert.ok('conn_open' in u0.stats.totals);
    assert.equal(u0.workers.workers.filter((w) => w.state === 'running')
        .length, 2);
    assert.ok(u0.history.seconds && u0.events.ok);

    /* A client connects: its connect event comes once over the updates,
     * and the figures follow. */
    const cl = await open(d.port, { track, token: tok({ sub: 'streamer' }) });
    await waitFor(() => a.updates.some((u) => u.stats.totals.wsj_open === 1),
        5000, 'wsj_open 1 in an update', 50);
    await waitFor(() => a.updates.length >= 4, 6000, 'four updates', 50);
    const connects = a.updates.flatMap((u) => u.events.events)
        .filter((e) => e.kind === 'connect');
    assert.equal(connects.length, 1, JSON.stringify(connects));
    const seqs = a.updates.flatMap((u) => u.events.events.map((e) => e.seq));
    assert.deepEqual(seqs, [...new Set(seqs)].sort((x, y) => x - y),
        'no event twice, in order');
    const pts = a.updates.flatMap((u) => u.history.seconds.points
        .map((p) => p[0]));
    assert.deepEqual(pts, [...new Set(pts)].sort((x, y) => x - y),
        'no history point twice');
    assert.ok(pts.length >= 2, 'the history grows');
    cl.close(1000);

    const st = await d.stats();
    assert.equal(st.totals.admin_streams, 2);
    assert.equal(st.totals.admin_streams_refused, 1);
    assert.ok(st.totals.admin_streams_opened >= 2);
    /* A reader that goes away frees its place. */
    b.close();
    await waitFor(async () => (await d.stats()).totals.admin_streams === 1,
        5000, 'admin_streams back to 1', 100);
    const e = await openStream(d);
    t.after(() => e.close());
    assert.equal(e.status, 200);
});
