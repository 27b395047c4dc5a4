'use strict';
/*
 * permessage-deflate on the fan-out path (issue 18, item 4): clients that
 * negotiate compression the way real ones do (the `ws` npm client, a
 * Chromium offer on a raw socket, socket.io-client) get published events
 * as compressed frames (RSV1) that decode to the right events, in order,
 * none lost, while a client without compression in the same room gets
 * plain frames. The frames are read off the TCP stream, below the
 * clients' own decoders, so a plain frame cannot pass for a compressed one.
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test --test-concurrency=1 \
 *          tests/integration/compression.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');
const zlib = require('node:zlib');

const WebSocket = require('ws');

const { startDaemon, waitFor } = require('./lib/daemon');
const { OP, open: rawOpen, parseFrames } = require('./lib/rawws');
const { expectDeltas, now, post, quietTotals, signJwt, within } =
    require('./lib/wsj');
const sio = require('./lib/sio');

const STOP_MS = 6000;
const SECRET = 'itest-pmd-secret-7f31a9';
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/* What Chromium and Firefox send (and the `ws` client by default). */
const BROWSER_OFFER = 'permessage-deflate; client_max_window_bits';

const tok = (sub) => signJwt({ sub, exp: now() + 600 }, { secret: SECRET });

/* A CRM-like event of about 400 bytes of JSON: compressible, not
 * repetitive. */
function leadEvent(i) {
    return {
        seq: i,
        type: 'lead.updated',
        lead: { id: 48210 + i, name: `Lead number ${i}`,
            email: `lead${i}@example.com`, phone: `+1-555-01${i % 100}`,
            status: i % 2 ? 'qualified' : 'contacted',
            owner: { id: 17, name: 'Dana Whitfield' },
            tags: ['inbound', 'webinar', `q${1 + (i % 4)}`] },
        changes: [{ field: 'status', from: 'new', to: 'contacted' },
            { field: 'score', from: 40 + i, to: 55 + i }],
        updated_at: `2026-12-07T20:${String(i % 60).padStart(2, '0')}:00Z`,
    };
}

/* Every server frame on socket from now on, parsed (not decoded):
 * {frames, bytes}. */
function tapFrames(socket) {
    const tap = { frames: [], bytes: 0 };
    let buf = Buffer.alloc(0);
    socket.on('data', (d) => {
        tap.bytes += d.length;
        buf = Buffer.concat([buf, d]);
        const { frames, used } = parseFrames(buf);
        tap.frames.push(...frames);
        buf = buf.subarray(used);
    });
    return tap;
}

/* The text of a data frame: inflated when RSV1 is set (RFC 7692 §7.2.2). */
function frameText(f) {
    if (!f.rsv1)
        return f.payload.toString('utf8');
    return zlib.inflateRawSync(Buffer.concat([f.payload, TAIL]),
        { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8');
}

/* The text frames of tap whose text passes pred. */
const textFrames = (tap, pred) => tap.frames.filter((f) =>
    f.opcode === OP.TEXT && pred(frameText(f)));

/* A `ws` client of /ws with its negotiated extensions in c.ext. */
async function wsOpen(port, token, perMessageDeflate, track) {
    const ws = track(new WebSocket(`ws://127.0.0.1:${port}/ws`,
        { headers: { Authorization: `Bearer ${token}` },
            perMessageDeflate }));
    ws.ext = null;
    ws.on('upgrade', (res) => {
        ws.ext = res.headers['sec-websocket-extensions'] || null;
    });
    ws.got = [];
    ws.on('message', (data) => ws.got.push(JSON.parse(data.toString())));
    await within(new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
    }), 5000, 'ws open');
    ws.tap = tapFrames(ws._socket);
    return ws;
}

/* Subscribe a `ws` client to room and wait for the ack. */
async function wsSubscribe(ws, room) {
    ws.send(JSON.stringify({ type: 'subscribe', room, id: 1 }));
    await waitFor(() => ws.got.find((m) => m.type === 'ack' && m.id === 1),
        5000, 'subscribe ack');
}

/* Publish events 0..n-1 to room, k per request (one log batch each). */
async function publishAll(d, room, n, k) {
    for (let i = 0; i < n; i += k) {
        const body = [];
        for (let j = i; j < Math.min(n, i + k); j++)
            body.push({ room, event: `e${j}`, data: leadEvent(j) });
        const r = await post(d, '/api/publish', body);
        assert.equal(r.status, 200, r.body);
    }
}

/* Assert events is exactly e0..e(n-1) with their data, in order. */
function assertEvents(events, n, who) {
    assert.equal(events.length, n, `${who}: ${events.length} of ${n} events`);
    events.forEach((e, i) => {
        assert.equal(e.event, `e${i}`, `${who}: event ${i} in order`);
        assert.deepEqual(e.data, leadEvent(i), `${who}: data of e${i}`);
    });
}

const isWsEvent = (t) => t.startsWith('{"type":"event"');

test('/ws fan-out compressed once for the ws client and a Chromium offer, '
    + 'plain for a client without compression (issue 18)', async (t) => {
    const d = await startDaemon(t, { config: { compression: 'on',
        jwt_secret: SECRET, room_rule: 'r* *', workers: 2 } });
    const track = sio.tracker(t);       /* ws, RawWs and sockets alike */
    const N = 40, ROOM = 'r-pmd';

    const a = await wsOpen(d.port, tok('a'), true, track);
    const c = await wsOpen(d.port, tok('c'), false, track);
    const raw = async (user, offer) => track(await rawOpen(d.port, '/ws',
        { headers: { Authorization: `Bearer ${tok(user)}`,
            'Sec-WebSocket-Extensions': offer } }));
    const b = await raw('b', BROWSER_OFFER);
    /* ~420-byte events need a 1 KiB window (zlib looks back w - 262). */
    const smwb = (bits) => `permessage-deflate; server_max_window_bits=${bits}`;
    const w10 = await raw('w10', smwb(10));
    const w9 = await raw('w9', smwb(9));

    await t.test('the answers allow sharing: server_no_context_takeover '
        + 'without being asked for it', () => {
        assert.equal(a.ext, 'permessage-deflate; server_no_context_takeover'
            + '; client_no_context_takeover; client_max_window_bits=15');
        assert.equal(b.response.headers['sec-websocket-extensions'], a.ext);
        assert.equal(c.ext, null);
    });

    await wsSubscribe(a, ROOM);
    await wsSubscribe(c, ROOM);
    for (const r of [b, w10, w9]) {
        r.text(JSON.stringify({ type: 'subscribe', room: ROOM, id: 1 }));
        const ack = await r.nextFrame(5000);
        assert.equal(JSON.parse(frameText(ack)).type, 'ack');
    }
    const bTap = b;     /* RawWs keeps every frame in .frames */

    const before = await quietTotals(d);
    await publishAll(d, ROOM, N, 8);
    await waitFor(() => a.got.filter((m) => m.type === 'event').length >= N
        && c.got.filter((m) => m.type === 'event').length >= N
        && [b, w10, w9].every((r) => textFrames(r, isWsEvent).length >= N),
    10000,
    'every event at every client');

    await t.test('the ws client decodes every event, in order, and they '
        + 'came compressed', () => {
        assertEvents(a.got.filter((m) => m.type === 'event'), N, 'ws');
        const fr = textFrames(a.tap, isWsEvent);
        assert.equal(fr.length, N);
        assert.ok(fr.every((f) => f.rsv1), 'every event frame has RSV1');
    });

    await t.test('the Chromium offer gets RSV1 frames that inflate to the '
        + 'events, in order', () => {
        const fr = textFrames(bTap, isWsEvent);
        assert.ok(fr.every((f) => f.rsv1), 'every event frame has RSV1');
        assertEvents(fr.map((f) => JSON.parse(frameText(f))), N, 'raw');
    });

    await t.test('a 1 KiB window shares the compressed events, a 512-byte '
        + 'one gets them plain', () => {
        const f10 = textFrames(w10, isWsEvent), f9 = textFrames(w9, isWsEvent);
        assert.ok(f10.every((f) => f.rsv1), 'window 10: RSV1');
        assert.ok(f9.every((f) => !f.rsv1), 'window 9: plain');
        assertEvents(f10.map((f) => JSON.parse(frameText(f))), N, 'w10');
        assertEvents(f9.map((f) => JSON.parse(frameText(f))), N, 'w9');
        /* And the server kept within window 10: inflate with it. */
        for (const f of f10)
            zlib.inflateRawSync(Buffer.concat([f.payload, TAIL]),
                { windowBits: 10, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    });

    await t.test('the client without compression gets plain frames', () => {
        assertEvents(c.got.filter((m) => m.type === 'event'), N, 'plain');
        const fr = textFrames(c.tap, isWsEvent);
        assert.equal(fr.length, N);
        assert.ok(fr.every((f) => !f.rsv1), 'no event frame has RSV1');
    });

    await t.test('ws_deflated_out counts the compressed payloads sent, '
        + 'well under the plain ones', async () => {
        const z = [...textFrames(a.tap, isWsEvent),
            ...textFrames(bTap, isWsEvent), ...textFrames(w10, isWsEvent)]
            .reduce((s, f) => s + f.len, 0);
        const plain = textFrames(c.tap, isWsEvent)
            .reduce((s, f) => s + f.len, 0);
        /* ~420 bytes of JSON deflate to ~265 without context takeover. */
        assert.ok(z / 3 < plain * 0.8, `compressed ${z / 3} per client vs `
            + `plain ${plain}`);
        const dl = await expectDeltas(d, before, { ws_deflated_out: z,
            ws_payload_out: 5 * plain }, { exact: true });
        assert.equal(dl.ws_deflated_out, z);
    });
    await d.stop(STOP_MS);
});

test('Socket.IO fan-out compressed for socket.io-client, per connection on '
    + 'another namespace, plain without compression (issue 18)',
async (t) => {
    const d = await startDaemon(t, { config: { compression: 'on',
        jwt_secret: SECRET, room_rule: 'r* *', namespaces: '/admin',
        workers: 2 } });
    const track = sio.tracker(t);
    const N = 40, ROOM = 'r-sio';
    const opts = (user, extra = {}) => ({ ...sio.CRM_OPTS, track,
        auth: { token: tok(user) }, ...extra });

    const z = await sio.connect(d.port, opts('z'));
    const p = await sio.connect(d.port, opts('p',
        { perMessageDeflate: false }));
    const n = await sio.connect(d.port, opts('n', { nsp: '/admin' }));
    const ext = {};
    for (const [k, s] of Object.entries({ z, p, n })) {
        assert.equal(s.io.engine.transport.name, 'websocket', k);
        const ws = s.io.engine.transport.ws;
        const pmd = ws._extensions['permessage-deflate'];
        ext[k] = pmd ? pmd.params : null;
        s.tap = tapFrames(ws._socket);
        assert.deepEqual(await sio.ack(s, 'subscribe', ROOM),
            [{ ok: true, rooms: [ROOM] }], `${k} subscribe`);
    }

    await t.test('socket.io-client negotiates server_no_context_takeover',
        () => {
        for (const k of ['z', 'n'])
            assert.equal(ext[k] && ext[k].server_no_context_takeover, true,
                `${k}: ${JSON.stringify(ext[k])}`);
        assert.equal(ext.p, null);
    });

    const before = await quietTotals(d);
    await publishAll(d, ROOM, N, 8);
    const evs = (s) => s.got.filter((g) => /^e\d+$/.test(g[0]))
        .map((g) => ({ event: g[0], data: g[1] }));
    await waitFor(() => [z, p, n].every((s) => evs(s).length >= N), 10000,
        'every event at every client');
    const isEvent = (tx) => tx.startsWith('42');

    for (const [k, s, rsv1] of [['shared batch', z, true],
        ['namespace /admin, per connection', n, true],
        ['no compression', p, false]]) {
        await t.test(`${k}: every event in order, RSV1 ${rsv1}`, () => {
            assertEvents(evs(s), N, k);
            const fr = textFrames(s.tap, isEvent);
            assert.equal(fr.length, N, k);
            assert.ok(fr.every((f) => f.rsv1 === rsv1), k);
            assertEvents(fr.map((f) => {
                const a = JSON.parse(frameText(f).replace(/^42(\/admin,)?/,
                    ''));
                return { event: a[0], data: a[1] };
            }), N, `${k} (wire)`);
        });
    }

    await t.test('ws_deflated_out counts both compressed clients', async () => {
        const zl = [...textFrames(z.tap, isEvent), ...textFrames(n.tap,
            isEvent)].reduce((s, f) => s + f.len, 0);
        assert.ok(zl > 0);
        await expectDeltas(d, before, { ws_deflated_out: zl },
            { exact: true });
    });
    await d.stop(STOP_MS);
});
