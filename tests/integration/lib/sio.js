'use strict';
/*
 * Helpers for the Socket.IO and Engine.IO tests (socketio.test.js,
 * engineio.test.js): a tiny HS256 JWT signer, the real socket.io-client
 * with bounded waits for connect / connect_error / events / acks, admin
 * calls (publish, broadcast, disconnect-user), counter deltas over
 * /socket-stats, and raw Engine.IO polling requests (payloads split on
 * 0x1e). Every wait is bounded.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');

const { io } = require('socket.io-client');
const WebSocket = require('ws');

const { request, sleep, waitFor } = require('./daemon');

const b64u = (b) => Buffer.from(b).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/* HS256/384/512 (or alg "none") token for payload (an object, or a raw
 * string for the payload segment). */
function signJwt(payload, secret, { alg = 'HS256', header = {} } = {}) {
    const h = b64u(JSON.stringify({ alg, typ: 'JWT', ...header }));
    const p = b64u(typeof payload === 'string' ? payload
        : JSON.stringify(payload));
    const input = `${h}.${p}`;
    const sig = alg === 'none' ? '' : b64u(crypto.createHmac(
        `sha${alg.slice(2)}`, secret).update(input).digest());
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

/* Sockets (socket.io-client sockets, ws, net sockets) a test opened,
 * closed when it ends. */
function tracker(t) {
    const open = new Set();
    t.after(() => {
        for (const c of open) {
            try {
                if (typeof c.disconnect === 'function' && c.io)
                    c.disconnect();         /* socket.io-client */
                else if (typeof c.terminate === 'function')
                    c.terminate();          /* ws */
                else
                    c.destroy();            /* net.Socket */
            } catch {
                /* already gone */
            }
        }
    });
    return (c) => {
        open.add(c);
        return c;
    };
}

/* The CRM's options (DESIGN: "must connect to wsgate unchanged"). */
const CRM_OPTS = { transports: ['websocket', 'polling'], timeout: 10000,
    reconnection: false, forceNew: true };

/* Transport modes: the CRM's, the client's defaults (polling then
 * upgrade), and polling only. */
const MODES = {
    crm: { ...CRM_OPTS },
    default: { reconnection: false, forceNew: true, timeout: 10000 },
    polling: { transports: ['polling'], timeout: 10000, reconnection: false,
        forceNew: true },
};

/* A socket.io-client socket for port (nsp "/" by default) that records
 * every event in s.got ([name, ...args]) and its disconnect reasons in
 * s.reasons. Not connected yet when returned (autoConnect is on, so it
 * is connecting). */
function sioClient(port, { nsp = '/', track, ...opts } = {}) {
    const s = io(`http://127.0.0.1:${port}${nsp}`, opts);
    if (track)
        track(s);
    s.got = [];
    s.reasons = [];
    s.onAny((...a) => s.got.push(a));
    s.on('disconnect', (r) => s.reasons.push(r));
    return s;
}

/* Connect; resolve with the socket once 'connect' fired, reject with the
 * connect_error (its .data kept) otherwise. */
async function connect(port, opts = {}, ms = 10000) {
    const s = sioClient(port, opts);
    await within(new Promise((resolve, reject) => {
        s.once('connect', resolve);
        s.once('connect_error', reject);
    }), ms, `connect to ${opts.nsp || '/'}`);
    return s;
}

/* Connect expecting a connect_error; resolve with that error. */
async function connectError(port, opts = {}, ms = 10000) {
    const s = sioClient(port, opts);
    return within(new Promise((resolve, reject) => {
        s.once('connect', () => reject(new Error(
            `connected to ${opts.nsp || '/'} but a connect_error was `
            + 'expected')));
        s.once('connect_error', (e) => {
            s.close();
            resolve(e);
        });
    }), ms, `connect_error from ${opts.nsp || '/'}`);
}

/* Next `event` on s (already received ones are not looked at): resolve
 * with its arguments. */
function once(s, event, ms = 3000) {
    return within(new Promise((resolve) => s.once(event,
        (...a) => resolve(a))), ms, `event ${event}`);
}

/* First recorded event named `event` (s.got, any time), bounded wait. */
async function recorded(s, event, ms = 3000, pred = () => true) {
    return waitFor(() => s.got.find((a) => a[0] === event && pred(a)), ms,
        `recorded event ${event}`, 10);
}

/* emit with an ack; resolve with the ack's arguments (all of them). */
function ack(s, ...args) {
    return within(new Promise((resolve) => s.emit(...args,
        (...r) => resolve(r))), 3000, `ack of ${args[0]}`);
}

/* Admin POST with the API key; returns {status, json, body}. */
function adminPost(d, urlPath, obj) {
    const body = JSON.stringify(obj);
    return d.admin(urlPath, { method: 'POST', auth: true, body,
        headers: { 'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body) } });
}

/* POST /api/publish; asserts 200 ok and returns the reply JSON. */
async function publish(d, obj) {
    const r = await adminPost(d, '/api/publish', obj);
    assert.equal(r.status, 200, `publish ${JSON.stringify(obj)}: ${r.body}`);
    assert.equal(r.json.ok, true, r.body);
    return r.json;
}

async function totals(d) {
    return (await d.stats()).totals;
}

/* Totals after earlier activity had time to be published (100 ms). */
async function quietTotals(d) {
    await sleep(250);
    return totals(d);
}

/* Wait until each counter in expect moved by at least its amount from
 * before; return the deltas. */
async function expectDeltas(d, before, expect, timeoutMs = 3000) {
    let last;
    try {
        await waitFor(async () => {
            last = await totals(d);
            return Object.entries(expect).every(([k, v]) =>
                (last[k] ?? 0) - (before[k] ?? 0) >= v);
        }, timeoutMs, 'counter deltas');
    } catch (e) {
        const got = {};
        for (const k of Object.keys(expect))
            got[k] = (last?.[k] ?? 0) - (before[k] ?? 0);
        assert.fail(`counters: wanted at least ${JSON.stringify(expect)}, `
            + `got ${JSON.stringify(got)}`);
    }
    const out = {};
    for (const k of Object.keys(expect))
        out[k] = last[k] - (before[k] ?? 0);
    return out;
}

/* ---------------------------------------------------------------- */
/* Raw Engine.IO                                                    */

/* Split a polling payload into packets (0x1e separator). */
function packets(text) {
    return text === '' ? [] : text.split('\x1e');
}

/* Engine.IO polling request on `base` (/socket.io/ or /engine.io/) with
 * query q (object). GET by default; body makes it a POST with an exact
 * Content-Length (no chunked encoding). */
function eio(port, base, q, { method, body, headers = {},
    timeoutMs = 3000 } = {}) {
    const qs = new URLSearchParams(q).toString();
    const h = { ...headers };
    if (body !== undefined) {
        h['Content-Type'] = h['Content-Type']
            || 'text/plain;charset=UTF-8';
        h['Content-Length'] = Buffer.byteLength(body);
    }
    return request(port, `${base}?${qs}`, { method: method
        || (body !== undefined ? 'POST' : 'GET'), headers: h, body,
    timeoutMs });
}

/* Polling handshake on base: resolves {sid, open (the parsed JSON), rest
 * (packets after the open packet), res}. */
async function eioOpen(port, base = '/engine.io/', headers = {}) {
    const res = await eio(port, base, { EIO: 4, transport: 'polling' },
        { headers });
    assert.equal(res.status, 200, `handshake: ${res.status} ${res.body}`);
    const p = packets(res.body);
    assert.equal(p[0][0], '0', `open packet: ${res.body}`);
    const open = JSON.parse(p[0].slice(1));
    return { sid: open.sid, open, rest: p.slice(1), res };
}

/* Raw request over TCP: write `data` (head and any body bytes), resolve
 * with everything the server sent until it closes (bounded). */
function rawHttp(port, data, ms = 3000) {
    return within(new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port });
        const chunks = [];
        s.on('connect', () => s.write(data));
        s.on('data', (c) => chunks.push(c));
        s.on('error', (e) => (chunks.length
            ? resolve(Buffer.concat(chunks).toString('latin1'))
            : reject(e)));
        s.on('close', () => resolve(Buffer.concat(chunks)
            .toString('latin1')));
        s.setTimeout(ms, () => s.destroy());
    }), ms + 500, 'raw HTTP exchange');
}

/* A raw Engine.IO WebSocket on base with query q (EIO=4 and
 * transport=websocket added). Text messages queue as strings, binary
 * ones as Buffers; ws.next(ms) takes the next one, ws.waitClose(ms)
 * resolves {code, reason}. autoPong answers every "2" with "3" (and
 * counts them in ws.pings) instead of queueing it. */
function eioWs(port, base, q = {}, { headers = {}, autoPong = false,
    track } = {}) {
    const qs = new URLSearchParams({ EIO: 4, transport: 'websocket', ...q });
    const ws = new WebSocket(`ws://127.0.0.1:${port}${base}?${qs}`,
        { headers, perMessageDeflate: false });
    if (track)
        track(ws);
    const q2 = [], waiters = [];
    const wake = () => {
        while (waiters.length)
            waiters.shift()();
    };
    ws.q = q2;
    ws.pings = 0;
    ws.closeInfo = null;
    ws.status = null;
    ws.on('message', (data, isBinary) => {
        const m = isBinary ? Buffer.from(data) : data.toString('utf8');
        if (autoPong && m === '2') {
            ws.pings++;
            ws.send('3');
            return;
        }
        q2.push(m);
        wake();
    });
    ws.on('error', (e) => {
        ws.lastError = e;
        wake();
    });
    ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
        ws.closeInfo = { code, reason: reason.toString() };
        wake();
        resolve(ws.closeInfo);
    }));
    ws.opened = new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
        ws.once('unexpected-response', (_req, res) => {
            ws.status = res.statusCode;
            reject(new Error(`unexpected response ${res.statusCode}`));
        });
    });
    ws.opened.catch(() => {});
    ws.next = async (ms = 3000, what = 'message') => {
        const deadline = Date.now() + ms;
        for (;;) {
            if (q2.length)
                return q2.shift();
            if (ws.closeInfo)
                throw new Error(`closed ${JSON.stringify(ws.closeInfo)} `
                    + `while waiting for ${what}`);
            const left = deadline - Date.now();
            if (left <= 0)
                throw new Error(`no ${what} within ${ms} ms`);
            await new Promise((r) => {
                const tm = setTimeout(r, left);
                waiters.push(() => {
                    clearTimeout(tm);
                    r();
                });
            });
        }
    };
    ws.waitClose = (ms = 3000) => within(ws.closed, ms, 'WebSocket close');
    return ws;
}

/* An open raw Engine.IO WebSocket; resolves {ws, open} (the parsed open
 * packet) for a new session, or just ws when q.sid is given (a probe). */
async function eioWsOpen(port, base, q = {}, opts = {}) {
    const ws = eioWs(port, base, q, opts);
    await within(ws.opened, 3000, `WebSocket ${base} open`);
    if (q.sid)
        return { ws };
    const first = await ws.next(3000, 'open packet');
    assert.equal(typeof first, 'string');
    assert.equal(first[0], '0', `open packet: ${first}`);
    return { ws, open: JSON.parse(first.slice(1)) };
}

module.exports = {
    CRM_OPTS,
    MODES,
    ack,
    adminPost,
    connect,
    connectError,
    eio,
    eioOpen,
    eioWs,
    eioWsOpen,
    expectDeltas,
    now,
    once,
    packets,
    publish,
    quietTotals,
    rawHttp,
    recorded,
    signJwt,
    sioClient,
    totals,
    tracker,
    within,
};
