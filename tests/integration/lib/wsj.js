'use strict';
/*
 * Helpers for the /ws JSON protocol tests (auth.test.js, rooms.test.js):
 * a tiny JWT signer (HS256/384/512 with crypto.createHmac, RS256 with
 * crypto.sign, and alg "none"), a `ws` client whose messages queue up for
 * bounded waits, request/ack pairing by id, and counter helpers over
 * /socket-stats. Every wait is bounded.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const WebSocket = require('ws');

const { sleep, waitFor } = require('./daemon');

const b64u = (b) => Buffer.from(b).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/* Sign payload (an object, or a raw string for the payload segment).
 * opts: alg (HS256 default, HS384, HS512, RS256, none), secret (HS*),
 * privateKey (RS256), header (merged into {alg, typ}). */
function signJwt(payload, { alg = 'HS256', secret = '', privateKey,
    header = {} } = {}) {
    const h = b64u(JSON.stringify({ alg, typ: 'JWT', ...header }));
    const p = b64u(typeof payload === 'string' ? payload
        : JSON.stringify(payload));
    const input = `${h}.${p}`;
    let sig;
    if (alg === 'none') {
        sig = '';
    } else if (/^HS(256|384|512)$/.test(alg)) {
        sig = b64u(crypto.createHmac(`sha${alg.slice(2)}`, secret)
            .update(input).digest());
    } else if (/^RS(256|384|512)$/.test(alg)) {
        sig = b64u(crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input),
            privateKey));
    } else {
        throw new Error(`signJwt: unsupported alg ${alg}`);
    }
    return `${input}.${sig}`;
}

/* Reject if p does not settle within ms. */
function within(p, ms, what) {
    let timer;
    return Promise.race([
        p,
        new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(
                `${what}: not done within ${ms} ms`)), ms);
        }),
    ]).finally(() => clearTimeout(timer));
}

/* Connections a test opened, terminated when it ends. */
function tracker(t) {
    const open = new Set();
    t.after(() => {
        for (const c of open)
            c.terminate();
    });
    return (c) => {
        open.add(c);
        return c;
    };
}

/*
 * A `ws` client of /ws. Every text message is parsed and queued; next()
 * takes the next one, nextMatch() the next matching one (skipping and
 * keeping others), request() sends with a fresh id and waits for that ack.
 * c.events collects every {"type":"event"} message as well (for fan-out
 * accounting), c.closeInfo is {code, reason} once closed.
 * opts: token (sent as Authorization: Bearer), headers, path, track (a
 * tracker()), queueEvents (default true: events also go to the queue;
 * false keeps them only in c.events, for clients that receive many).
 */
function client(port, { token, headers = {}, path = '/ws', track,
    queueEvents = true } = {}) {
    const h = { ...headers };
    if (token !== undefined)
        h.Authorization = `Bearer ${token}`;
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`,
        { headers: h, perMessageDeflate: false });
    if (track)
        track(ws);
    const q = [], waiters = [];
    let nextId = 1;
    ws.events = [];
    ws.raw = [];
    ws.closeInfo = null;
    ws.upgradeStatus = null;
    const wake = () => {
        while (waiters.length)
            waiters.shift()();
    };
    ws.on('upgrade', (res) => {
        ws.upgradeStatus = res.statusCode;
    });
    ws.on('message', (data, isBinary) => {
        const text = data.toString('utf8');
        ws.raw.push(text);
        let m;
        try {
            m = JSON.parse(text);
        } catch {
            m = { type: '<not json>', text, isBinary };
        }
        if (m.type === 'event') {
            ws.events.push(m);
            if (!queueEvents)
                return;
        }
        q.push(m);
        wake();
    });
    ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
        ws.closeInfo = { code, reason: reason.toString() };
        wake();
        resolve(ws.closeInfo);
    }));
    ws.on('error', (e) => {
        ws.lastError = e;
        wake();
    });
    ws.opened = new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
        ws.once('unexpected-response', (_req, res) => {
            ws.upgradeStatus = res.statusCode;
            reject(new Error(`unexpected response ${res.statusCode}`));
        });
    });
    ws.opened.catch(() => {});
    ws.q = q;
    /* Next queued message matching pred (default: any), bounded. */
    ws.nextMatch = async (pred = () => true, ms = 3000, what = 'message') => {
        const deadline = Date.now() + ms;
        for (;;) {
            const i = q.findIndex(pred);
            if (i >= 0)
                return q.splice(i, 1)[0];
            if (ws.closeInfo)
                throw new Error(`closed ${JSON.stringify(ws.closeInfo)} `
                    + `while waiting for ${what}; queued: `
                    + JSON.stringify(q));
            const left = deadline - Date.now();
            if (left <= 0)
                throw new Error(`no ${what} within ${ms} ms; queued: `
                    + JSON.stringify(q));
            await new Promise((r) => {
                const tm = setTimeout(r, left);
                waiters.push(() => {
                    clearTimeout(tm);
                    r();
                });
            });
        }
    };
    ws.next = (ms) => ws.nextMatch(undefined, ms);
    ws.sendJson = (o) => ws.send(typeof o === 'string' ? o
        : JSON.stringify(o));
    /* Send o with a fresh id, resolve with the reply (ack, pong, error)
     * carrying that id. */
    ws.request = async (o, ms = 3000) => {
        const id = nextId++;
        ws.sendJson({ ...o, id });
        return ws.nextMatch((m) => m.type !== 'event' && m.id === id, ms,
            `reply ${id} to ${JSON.stringify(o)}`);
    };
    /* Resolve with closeInfo, bounded. */
    ws.waitClose = (ms = 3000) => within(ws.closed, ms, 'close');
    return ws;
}

/* An open client (throws if the upgrade fails). */
async function open(port, opts = {}, ms = 3000) {
    const ws = client(port, opts);
    await within(ws.opened, ms, `ws open port ${port}`);
    return ws;
}

/* A client that authenticates with the first message: resolves
 * {ws, ack}. */
async function openAuth(port, token, opts = {}) {
    const ws = await open(port, opts);
    const ack = await ws.request({ type: 'auth', token });
    return { ws, ack };
}

/* Connect with a token in the header that must be refused: asserts the
 * upgrade succeeded (101), an error message with `code`, then close 4002
 * with reason `code`. Returns {err, close}. */
async function expectRefused(port, token, code, what, opts = {}) {
    const ws = client(port, { token, ...opts });
    try {
        await within(ws.opened, 3000, `${what}: open`);
    } catch (e) {
        throw new Error(`${what}: upgrade failed (status `
            + `${ws.upgradeStatus}): ${e.message}`);
    }
    assert.equal(ws.upgradeStatus, 101, `${what}: upgrade status`);
    const err = await ws.nextMatch((m) => m.type === 'error', 3000,
        `${what}: error message`);
    assert.equal(err.code, code, `${what}: error code (${JSON.stringify(err)})`);
    assert.equal(typeof err.message, 'string', `${what}: error message`);
    const close = await ws.waitClose(3000);
    assert.deepEqual(close, { code: 4002, reason: code },
        `${what}: close code and reason`);
    return { err, close, ws };
}

async function totals(d) {
    return (await d.stats()).totals;
}

/* Totals once the counters of what came before are published (every
 * 100 ms). */
async function quietTotals(d) {
    await sleep(250);
    return totals(d);
}

/* Wait (bounded) until each counter in expect moved by at least its amount
 * from before; with exact, also assert it moved by no more (after two
 * publish periods). Returns the deltas. */
async function expectDeltas(d, before, expect, { exact = false,
    timeoutMs = 3000 } = {}) {
    let last;
    try {
        await waitFor(async () => {
            last = await totals(d);
            return Object.entries(expect).every(([k, v]) =>
                last[k] - before[k] >= v);
        }, timeoutMs, `counters ${JSON.stringify(expect)}`);
    } catch (e) {
        const got = {};
        for (const k of Object.keys(expect))
            got[k] = last ? last[k] - before[k] : undefined;
        throw new Error(`${e.message}; deltas ${JSON.stringify(got)}`);
    }
    const deltas = {};
    if (exact) {
        await sleep(250);
        last = await totals(d);
    }
    for (const k of Object.keys(expect))
        deltas[k] = last[k] - before[k];
    if (exact)
        assert.deepEqual(deltas, expect, 'counter deltas');
    return deltas;
}

/* Wait (bounded) until the gauges in expect equal their values. */
async function expectGauges(d, expect, timeoutMs = 3000) {
    let last;
    try {
        await waitFor(async () => {
            last = await totals(d);
            return Object.entries(expect).every(([k, v]) => last[k] === v);
        }, timeoutMs, `gauges ${JSON.stringify(expect)}`);
    } catch (e) {
        const got = {};
        for (const k of Object.keys(expect))
            got[k] = last ? last[k] : undefined;
        throw new Error(`${e.message}; got ${JSON.stringify(got)}`);
    }
    return last;
}

/* Admin POST with a JSON (or raw string) body and the api key. */
function post(d, urlPath, body, { auth = true, ...rest } = {}) {
    return d.admin(urlPath, { method: 'POST', auth,
        headers: { 'Content-Type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
        ...rest });
}

module.exports = {
    b64u,
    client,
    expectDeltas,
    expectGauges,
    expectRefused,
    now,
    open,
    openAuth,
    post,
    quietTotals,
    signJwt,
    totals,
    tracker,
    within,
};
