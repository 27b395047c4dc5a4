'use strict';
/*
 * Zero-drop reload (issue 12 items 5 and 8): a connect storm of 300 new
 * connections a second for 10 s (3000 in all) against 2 workers, a mix of
 * /ws JSON clients (open, subscribe, ping, close), Socket.IO over
 * WebSocket and Socket.IO over long-polling (connect, one ack, disconnect),
 * with `wsgate -s reload` sent three times during it. Every attempted
 * connection is counted with its outcome, and every one must complete:
 * none refused, reset, timed out or closed other than normally. What the
 * man page says a reload does (SIGHUP) is allowed and no more: a WebSocket
 * of the old generation gets close 1001 and its client connects again
 * (at most once per reload), which must then complete; a long-polling
 * session keeps working on its draining worker. Clients connected before
 * the storm: /ws gets 1001, Socket.IO over either transport reconnects,
 * recovers and misses no event. On a machine too busy to keep up the
 * storm stretches rather than piling up clients. Counts and outcomes
 * only, no timing assertions; every loop and wait is bounded.
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { run, sleep, startDaemon, waitFor } = require('./lib/daemon');
const wsj = require('./lib/wsj');
const { ack, connect, now, publish, signJwt, sioClient, tracker,
    within } =
    require('./lib/sio');

const SECRET = 'itest-reload-storm-5e21a9';
const RATE = 300;           /* attempts per second, all kinds together */
const RUN_MS = 10000;
const TOTAL = RATE * RUN_MS / 1000;
const RELOADS_AT = [0.25, 0.55, 0.8];  /* shares of the attempts */
const MAX_INFLIGHT = 600;
const STORM_MAX_MS = 25000;
const ATTEMPT_MS = 20000;   /* an attempt not done by then timed out */
const KINDS = ['ws', 'sio-websocket', 'sio-polling'];

const tok = (sub) => signJwt({ sub, exp: now() + 600 }, SECRET);

/* What went wrong, as one short word for the tally. */
function errKind(e) {
    const m = String(e && (e.code || e.message || e));
    if (/ECONNREFUSED/.test(m))
        return 'refused';
    if (/ECONNRESET|socket hang up|EPIPE/.test(m))
        return 'reset';
    const w = /^(?:Error: )?(.*?):? not done within/.exec(m);
    if (w)
        return `timeout (${w[1]})`;
    if (/no .* within|timeout/i.test(m))
        return 'timeout';
    return m.slice(0, 80);
}

/* One /ws client: open, subscribe, ping -> pong, close 1000. */
async function wsAttempt(port, i) {
    const ws = wsj.client(port, { token: tok(`w${i}`) });
    try {
        await within(ws.opened, ATTEMPT_MS, 'open');
        const room = `lead:storm-${i % 10}`;
        const a = await ws.request({ type: 'subscribe', room }, ATTEMPT_MS);
        if (a.type !== 'ack' || a.ok !== true)
            throw new Error(`subscribe answered ${JSON.stringify(a)}`);
        const p = await ws.request({ type: 'ping' }, ATTEMPT_MS);
        if (p.type !== 'pong')
            throw new Error(`ping answered ${JSON.stringify(p)}`);
        ws.close(1000);
        const c = await ws.waitClose(ATTEMPT_MS);
        if (c.code !== 1000)
            throw new Error(`closed with ${c.code} ${c.reason}`);
        return 'ok';
    } catch (e) {
        ws.terminate();
        if (ws.closeInfo && ws.closeInfo.code !== 1000)
            return `closed ${ws.closeInfo.code}`;
        throw e;
    }
}

/* One Socket.IO client on one transport: connect, ping ack, disconnect.
 * Any disconnect before the end is an outcome of its own. */
async function sioAttempt(port, i, transport) {
    const s = sioClient(port, { transports: [transport],
        reconnection: false, forceNew: true, timeout: ATTEMPT_MS,
        auth: { token: tok(`s${i}`) } });
    /* The engine closing before the Socket.IO CONNECT is answered ends
     * the attempt with no connect_error (reconnection is off): its
     * manager's close says why. */
    const early = await within(new Promise((resolve) => {
        s.once('connect', () => resolve(null));
        s.once('connect_error', (e) => resolve(`connect_error: ${e.message}`
            + (e.description ? ` ${e.description.message
                || e.description}` : '')));
        s.io.once('close', (reason) => resolve(`disconnect ${reason}`));
    }), ATTEMPT_MS, 'connect').catch((e) => {
        s.close();
        throw e;
    });
    if (early !== null) {
        s.close();
        return early;
    }
    let gone = null;
    s.on('disconnect', (reason, details) => {
        gone = `disconnect ${reason}${details && details.message
            ? ` (${details.message})` : ''}`;
    });
    try {
        const [a] = await within(new Promise((resolve) => s.emit('ping',
            (...r) => resolve(r))), ATTEMPT_MS, 'ping ack');
        if (!a || typeof a.ts !== 'number')
            throw new Error(`ping ack ${JSON.stringify(a)}`);
        if (gone)
            return gone;
        s.disconnect();
        return 'ok';
    } catch (e) {
        s.disconnect();
        if (gone)
            return gone;
        throw e;
    }
}

/* The documented end of a connection by a reload (man page, SIGHUP and
 * SIGTERM): close 1001 on a WebSocket, which Socket.IO reports as
 * "transport close". A client told so reconnects; anything else is a
 * drop. */
const GOING_AWAY = new Set(['closed 1001', 'disconnect transport close']);

async function once1(port, i, kind) {
    const p = kind === 'ws' ? wsAttempt(port, i)
        : sioAttempt(port, i, kind.slice(4));
    return within(p, ATTEMPT_MS + 5000, `attempt ${i}`)
        .then((o) => ({ outcome: o }),
            (e) => ({ outcome: errKind(e), detail: String(e) }));
}

/* One attempted connection. A client the reload sent away with the
 * normal close connects again, as real clients do, at most once per
 * reload (a slow one can meet the next reload too), and its outcome is
 * that of its last try ("ok after 1001" when that completes). */
async function attempt(port, i) {
    const kind = KINDS[i % KINDS.length];
    let r = await once1(port, i, kind), away = 0;
    while (GOING_AWAY.has(r.outcome) && away < RELOADS_AT.length) {
        away++;
        r = await once1(port, i, kind);
    }
    return { kind, away, ...r, outcome: away === 0 || r.outcome !== 'ok'
        ? (away ? `${away} x going away, then ${r.outcome}` : r.outcome)
        : 'ok after 1001' };
}

test('#12 reload under a connect storm: every attempted connection '
    + 'completes', { timeout: 120000 }, async (t) => {
    const d = await startDaemon(t, {
        config: { workers: 2, jwt_secret: SECRET, room_rule: 'lead:* *',
            shutdown_timeout: '8s' },
        args: (dd) => ['--pid', dd.pidPath],
    });
    const track = tracker(t);
    const P = d.port;
    const before = (await d.stats()).totals;

    /* Long-lived clients of the first generation. */
    const lw = wsj.client(P, { token: tok('long-ws') });
    track(lw);
    await within(lw.opened, 5000, 'long /ws open');
    const la = await lw.request({ type: 'subscribe', room: 'lead:long' });
    assert.equal(la.ok, true);
    const long = {};
    for (const transport of ['websocket', 'polling']) {
        const s = await connect(P, { transports: [transport],
            reconnection: true, reconnectionDelay: 100,
            reconnectionDelayMax: 500, forceNew: true, timeout: 10000,
            auth: { token: tok(`long-${transport}`) }, track });
        s.connects = 0;
        s.recoveredOnce = false;
        s.on('connect', () => {
            s.connects++;
            if (s.recovered)
                s.recoveredOnce = true;
        });
        s.seen = [];
        s.on('lead', (data) => s.seen.push(data.n));
        const [a] = await ack(s, 'subscribe', 'lead:long');
        assert.equal(a.ok, true, JSON.stringify(a));
        long[transport] = s;
    }
    /* An event each has seen: its offset is what a reconnect recovers
     * from. */
    await publish(d, { room: 'lead:long', event: 'lead', data: { n: 1 } });
    for (const [transport, s] of Object.entries(long))
        await waitFor(() => s.seen.length === 1, 5000,
            `long ${transport}: first event`);

    /* The storm. */
    const results = [];
    const pending = new Set();
    const reloads = [];
    const t0 = Date.now();
    let started = 0, nextReload = 0;
    /* Open loop at RATE, but with at most MAX_INFLIGHT attempts under
     * way: on a machine too busy to keep up, the storm stretches (up to
     * STORM_MAX_MS) instead of piling up clients until they time out.
     * The reloads come at fixed shares of the attempts, so they always
     * fall inside the storm. */
    while (started < TOTAL && Date.now() - t0 < STORM_MAX_MS) {
        const el = Date.now() - t0;
        const due = Math.min(TOTAL, Math.floor(el * RATE / 1000));
        for (; started < due && pending.size < MAX_INFLIGHT; started++) {
            const p = attempt(P, started).then((r) => {
                results.push(r);
                pending.delete(p);
            });
            pending.add(p);
        }
        if (nextReload < RELOADS_AT.length
            && started >= RELOADS_AT[nextReload] * TOTAL) {
            nextReload++;
            reloads.push(run(['-s', 'reload', '--pid', d.pidPath, '-c',
                d.confPath], { t, timeoutMs: 10000 }));
        }
        await sleep(10);
    }
    const stormMs = Date.now() - t0;
    const rr = await Promise.all(reloads);
    for (const r of rr)
        assert.equal(r.code, 0, `-s reload: ${r.stderr}`);
    await within(Promise.all([...pending]), ATTEMPT_MS + 10000,
        'every attempt to end');

    const tally = {};
    for (const k of KINDS)
        tally[k] = {};
    for (const r of results)
        tally[r.kind][r.outcome] = (tally[r.kind][r.outcome] || 0) + 1;
    const good = (r) => r.outcome === 'ok' || r.outcome === 'ok after 1001';
    const ok = results.filter(good).length;
    const report = { attempted: started, ended: results.length,
        storm_ms: stormMs,
        succeeded: ok, reloads: RELOADS_AT.length,
        reconnects_after_1001: results.reduce((n, r) => n + r.away, 0),
        byKind: tally };
    t.diagnostic(`storm: ${JSON.stringify(report)}`);
    const bad = results.filter((r) => !good(r));
    assert.equal(reloads.length, RELOADS_AT.length, 'every reload was sent');
    assert.ok(started >= TOTAL / 2, `only ${started} attempts in `
        + `${STORM_MAX_MS} ms`);
    assert.equal(results.length, started, 'every attempt ended');
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${started} `
        + `attempts failed: ${JSON.stringify(report)}`);

    /* The reloads happened: three generations after the first. */
    const st = await waitFor(async () => {
        const x = await d.stats();
        const run2 = x.workers.filter((w) => w.state === 'running');
        return x.totals.reloads - before.reloads === RELOADS_AT.length
            && run2.length === 2
            && run2.every((w) => w.generation === RELOADS_AT.length)
            ? x : null;
    }, 10000, 'three reloads and the last generation running');
    assert.equal(st.totals.reload_failures, before.reload_failures);
    assert.equal(st.totals.conn_refused_limit ?? 0,
        before.conn_refused_limit ?? 0, 'no connection refused for limits');

    /* The long-lived clients: the /ws one was told 1001 by the first
     * reload; the Socket.IO ones reconnected and recovered, and answer on
     * the last generation. */
    const lc = await lw.waitClose(5000);
    assert.equal(lc.code, 1001, `long /ws close ${JSON.stringify(lc)}`);
    await publish(d, { room: 'lead:long', event: 'lead', data: { n: 2 } });
    for (const [transport, s] of Object.entries(long)) {
        /* A WebSocket is sent away at once; a polling session stays on
         * its draining worker until shutdown_timeout (8 s) ends it. */
        await waitFor(() => s.connects >= 1 && s.connected
            && s.seen.length >= 2, 20000, `long ${transport}: connected `
            + `again and the second event (reasons ${JSON.stringify(
                s.reasons)})`);
        assert.equal(s.recoveredOnce, true, `long ${transport}: recovered`);
        await sleep(100);
        assert.deepEqual(s.seen, [1, 2], `long ${transport}: events`);
        const [a] = await ack(s, 'ping');
        assert.equal(typeof a.ts, 'number');
        s.disconnect();
    }
    await d.stop();
});
