'use strict';
/*
 * Soak (#10, item 6): 1,000 clients on 4 workers, 500 events/s into 50
 * rooms for 40 s, one worker killed with SIGKILL every 3 s and one reload
 * (HUP) in the middle. 900 are socket.io-client 4.8 with reconnection on
 * (800 on WebSocket, 100 starting on polling), which recover their
 * sessions by themselves; 100 are /ws clients that reconnect by hand and
 * subscribe again with since. At the end every client must hold every
 * event of its room exactly once and in publish order; the test prints the
 * counts it compared. Bounded: about a minute, every wait capped.
 * Run: WSGATE_BIN=$PWD/wsgate node --test --test-concurrency=1 \
 *          tests/integration/soak.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { connect, now, publish, signJwt, tracker } = require('./lib/sio');
const wsj = require('./lib/wsj');

const SECRET = 'itest-soak-secret-5e0d';
const ROOMS = 50;
const N_WS = 800, N_POLL = 100, N_RAW = 100;
const RATE = 500;            /* events per second */
const RUN_MS = 40000;        /* publishing time */
const KILL_EVERY_MS = 3000;
const tok = (sub) => signJwt({ sub, rooms: ['soak:*'], exp: now() + 3600 },
    SECRET);

/* A socket.io client in room r, recording the offsets of its events. */
async function sioClient(d, track, i, r, transports) {
    const s = await connect(d.port, { auth: { token: tok(`s${i}`) }, track,
        transports, reconnectionDelay: 100, reconnectionDelayMax: 1000,
        timeout: 5000 }, 20000);
    s.offs = [];
    s.bad = 0;
    s.recoveries = 0;
    s.fresh = 0;
    s.on('soak', (data, off) => {
        if (data.r !== r)
            s.bad++;
        s.offs.push(Number(off));
    });
    s.on('connect', () => {
        if (s.recovered) {
            s.recoveries++;
            return;
        }
        /* Not recovered: what a careful app does, subscribe again from
         * the last offset it has (counted: the test expects none). */
        s.fresh++;
        const since = s.offs.length ? String(s.offs[s.offs.length - 1])
            : '0';
        s.emit('subscribe', { room: `soak:${r}`, since });
    });
    await new Promise((resolve) => s.emit('subscribe', `soak:${r}`, resolve));
    return s;
}

/* A /ws client in room r that reconnects by hand with since. */
function rawClient(d, track, i, r) {
    const c = { offs: [], gaps: 0, reconnects: 0, bad: 0, stopped: false };
    const run = async () => {
        while (!c.stopped) {
            let ws;
            try {
                ws = await wsj.open(d.port, { token: tok(`w${i}`), track,
                    queueEvents: false }, 5000);
            } catch {
                await sleep(200);
                continue;
            }
            ws.on('message', (buf) => {
                const m = JSON.parse(buf.toString());
                if (m.type === 'event') {
                    if (m.data.r !== r)
                        c.bad++;
                    c.offs.push(m.offset);
                }
            });
            const since = c.offs.length ? c.offs[c.offs.length - 1] : 0;
            try {
                const a = await ws.request({ type: 'subscribe',
                    room: `soak:${r}`, since }, 10000);
                if (a.gap)
                    c.gaps++;
            } catch {
                /* closed under the request: go round again */
            }
            c.ws = ws;
            c.ready = true;
            await ws.closed;
            c.ready = false;
            if (!c.stopped) {
                c.reconnects++;
                await sleep(100);
            }
        }
    };
    c.done = run();
    return c;
}

test('#10 soak: kill -9 every 3 s and a reload, nothing lost or doubled',
    { timeout: 150000 }, async (t) => {
    const d = await startDaemon(t, { config: { workers: 4,
        jwt_secret: SECRET, respawn_stable_after: '1s',
        respawn_max_failures: 0, shutdown_timeout: '3s',
        log_level: 'notice' } });
    const track = tracker(t);
    const sios = [];
    for (let i = 0; i < N_WS + N_POLL; i += 50) {
        const batch = [];
        for (let k = i; k < Math.min(i + 50, N_WS + N_POLL); k++)
            batch.push(sioClient(d, track, k, k % ROOMS, k < N_WS
                ? ['websocket'] : ['polling', 'websocket']));
        sios.push(...await Promise.all(batch));
    }
    const raws = [];
    /* Whatever happens, the hand-made reconnect loops end with the test. */
    t.after(() => {
        for (const c of raws)
            c.stopped = true;
    });
    for (let i = 0; i < N_RAW; i++)
        raws.push(rawClient(d, wsj.tracker(t), i, i % ROOMS));
    await waitFor(() => raws.every((c) => c.ready), 20000, '/ws clients');

    /* Every room's events, in publish order (the log's). */
    const expected = Array.from({ length: ROOMS }, () => []);
    let k = 0;
    const pub = async (n) => {
        const items = [];
        for (let j = 0; j < n; j++, k++)
            items.push({ room: `soak:${k % ROOMS}`, event: 'soak',
                data: { r: k % ROOMS, k } });
        const r = await publish(d, items);
        r.offsets.forEach((o, j) => expected[items[j].data.r].push(o));
    };
    /* One event to every room first: every client has an offset. */
    await pub(ROOMS);
    await waitFor(() => sios.every((s) => s.offs.length === 1)
        && raws.every((c) => c.offs.length === 1), 10000, 'first events');

    let kills = 0, reloaded = false;
    const t0 = Date.now();
    let nextKill = t0 + KILL_EVERY_MS;
    const tick = 50;
    let sent = 0;
    while (Date.now() - t0 < RUN_MS) {
        /* Keep the rate whatever each publish took. */
        const due = Math.min(200, Math.floor((Date.now() - t0) * RATE
            / 1000) - sent);
        if (due > 0) {
            await pub(due);
            sent += due;
        }
        if (Date.now() >= nextKill) {
            nextKill += KILL_EVERY_MS;
            const st = await d.stats();
            const run = st.workers.filter((w) => w.state === 'running'
                && w.generation === st.generation);
            if (run.length) {
                const w = run[Math.floor(Math.random() * run.length)];
                try {
                    process.kill(w.pid, 'SIGKILL');
                    kills++;
                } catch {
                    /* already gone */
                }
            }
        }
        if (!reloaded && Date.now() - t0 >= RUN_MS / 2) {
            d.signal('SIGHUP');
            reloaded = true;
        }
        await sleep(tick);
    }
    const want = (r) => expected[r].length;
    const done = () => sios.every((s, i) => s.offs.length >= want(i % ROOMS))
        && raws.every((c, i) => c.offs.length >= want(i % ROOMS));
    try {
        await waitFor(done, 30000, 'every client to catch up', 200);
    } catch {
        /* compared below, with the counts */
    }
    await sleep(500);
    let exact = 0, lost = 0, dup = 0, order = 0;
    const check = (offs, r) => {
        const exp = expected[r];
        const set = new Set(offs);
        if (set.size !== offs.length)
            dup++;
        if (exp.some((o) => !set.has(o)))
            lost++;
        for (let j = 1; j < offs.length; j++)
            if (offs[j] <= offs[j - 1]) {
                order++;
                break;
            }
        if (offs.length === exp.length && offs.every((o, j) => o === exp[j]))
            exact++;
    };
    sios.forEach((s, i) => check(s.offs, i % ROOMS));
    raws.forEach((c, i) => check(c.offs, i % ROOMS));
    const sum = (a, f) => a.reduce((x, y) => x + f(y), 0);
    const totals = (await d.stats()).totals;
    const report = {
        clients: sios.length + raws.length, events: k, kills,
        reloaded, exact, lost, duplicated: dup, out_of_order: order,
        wrong_room: sum(sios, (s) => s.bad) + sum(raws, (c) => c.bad),
        deliveries_compared: sum(sios, (s) => s.offs.length)
            + sum(raws, (c) => c.offs.length),
        sio_recoveries: sum(sios, (s) => s.recoveries),
        sio_fresh: sum(sios, (s) => s.fresh),
        ws_reconnects: sum(raws, (c) => c.reconnects),
        ws_gaps: sum(raws, (c) => c.gaps),
        recovery_ok: totals.recovery_ok,
        recovery_failed: totals.recovery_failed_unknown
            + totals.recovery_failed_offset + totals.recovery_failed_rooms,
    };
    console.log(`soak: ${JSON.stringify(report)}`);
    for (const c of raws)
        c.stopped = true;
    assert.ok(kills >= 10, `only ${kills} kills`);
    assert.equal(report.lost, 0, 'clients missing events');
    assert.equal(report.duplicated, 0, 'clients with duplicates');
    assert.equal(report.out_of_order, 0, 'clients out of order');
    assert.equal(report.wrong_room, 0);
    assert.equal(report.exact, report.clients);
    assert.equal(report.ws_gaps, 0);
    assert.ok(report.sio_recoveries > 0, 'no session was recovered');
    assert.equal(report.sio_fresh, 0, 'sessions not recovered');
    for (const s of sios)
        s.disconnect();
    for (const c of raws)
        if (c.ws)
            c.ws.close();
    await Promise.race([Promise.all(raws.map((c) => c.done)), sleep(5000)]);
    await d.stop(20000);
});
