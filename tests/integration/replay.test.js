'use strict';
/*
 * Replay for clients that reconnect by hand (#10, item 2): subscribe with
 * a `since` offset per room, on /ws and on Socket.IO with the CRM's own
 * client settings (reconnection: false, forceNew: true). What the rooms
 * missed comes before the ack, once and in order, then live events; a
 * room the log no longer holds is joined with gap: true; a room the
 * connection was already in replays nothing; bad offsets are refused.
 * Run: WSGATE_BIN=$PWD/wsgate node --test --test-concurrency=1 \
 *          tests/integration/replay.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { expectDeltas, now, open, post, quietTotals, signJwt,
    tracker } = require('./lib/wsj');
const sio = require('./lib/sio');

const SECRET = 'itest-replay-secret-93f1';
const tok = (sub, rooms = ['lead:*']) => signJwt({ sub, rooms,
    exp: now() + 600 }, { secret: SECRET });

async function publish(d, items) {
    const r = await post(d, '/api/publish', items);
    assert.equal(r.status, 200, r.body);
    return Array.isArray(items) ? r.json.offsets : [r.json.offset];
}

/* Events ws received (all, or of one room). */
const evs = (ws, room) => ws.events.filter((e) => !room || e.room === room);

test('#10 /ws subscribe with since', async (t) => {
    const d = await startDaemon(t, { config: { workers: 2,
        jwt_secret: SECRET } });
    const track = tracker(t);
    const P = d.port;

    await t.test('missed events of a room come before the ack, once, in '
        + 'order; then live ones', async () => {
        const before = await quietTotals(d);
        const a = await open(P, { token: tok('u1'), track,
            queueEvents: false });
        assert.equal((await a.request({ type: 'subscribe', room: 'lead:1' }))
            .ok, true);
        const o1 = await publish(d, [
            { room: 'lead:1', event: 'e', data: { n: 1 } },
            { room: 'lead:1', event: 'e', data: { n: 2 } }]);
        await waitFor(() => evs(a).length === 2, 3000, 'two live events');
        const last = evs(a)[1].offset;
        assert.equal(last, o1[1]);
        a.close();
        /* Missed while away: two to lead:1, one to lead:2, one multi-room
         * publish that reaches lead:1 too. */
        const o2 = await publish(d, [
            { room: 'lead:1', event: 'e', data: { n: 3 } },
            { room: 'lead:2', event: 'e', data: { n: 99 } },
            { rooms: ['lead:2', 'lead:1'], event: 'e', data: { n: 4 } },
            { room: 'lead:1', event: 'e', data: { n: 5 } }]);
        const b = await open(P, { token: tok('u1'), track });
        b.sendJson({ type: 'subscribe', room: 'lead:1', since: last, id: 7 });
        const got = [];
        for (;;) {
            const m = await b.next(3000);
            if (m.type === 'ack') {
                assert.deepEqual(m, { type: 'ack', id: 7, ok: true,
                    rooms: ['lead:1'], replayed: 3 });
                break;
            }
            got.push(m);
        }
        assert.deepEqual(got.map((e) => [e.data.n, e.offset, e.room]),
            [[3, o2[0], 'lead:1'], [4, o2[2], 'lead:1'], [5, o2[3], 'lead:1']]);
        const o3 = await publish(d, { room: 'lead:1', event: 'e',
            data: { n: 6 } });
        const live = await b.next(3000);
        assert.equal(live.type, 'event');
        assert.equal(live.data.n, 6);
        assert.equal(live.offset, o3[0]);
        await expectDeltas(d, before, { replayed_events: 3 });
        b.close();
    });

    await t.test('rooms with their own since; a room already joined '
        + 'replays nothing; since as a string', async () => {
        const o = await publish(d, [
            { room: 'lead:10', event: 'e', data: { n: 1 } },
            { room: 'lead:11', event: 'e', data: { n: 2 } },
            { room: 'lead:10', event: 'e', data: { n: 3 } },
            { room: 'lead:11', event: 'e', data: { n: 4 } }]);
        const c = await open(P, { token: tok('u2'), track });
        const ack = await c.request({ type: 'subscribe', rooms: [
            { room: 'lead:10', since: o[0] }, { room: 'lead:11',
                since: String(o[1] - 1) }, 'lead:12'] });
        assert.deepEqual(ack.rooms, ['lead:10', 'lead:11', 'lead:12']);
        assert.equal(ack.replayed, 3);
        assert.deepEqual(evs(c).map((e) => e.data.n), [2, 3, 4]);
        const again = await c.request({ type: 'subscribe', room: 'lead:10',
            since: 0 });
        assert.deepEqual(again, { type: 'ack', id: again.id, ok: true,
            rooms: [] });
        assert.equal(evs(c).length, 3);
        c.close();
    });

    await t.test('bad offsets and shapes are BAD_REQUEST; nothing joined',
        async () => {
        const c = await open(P, { token: tok('u3'), track });
        for (const bad of [{ room: 'lead:1', since: -1 },
            { room: 'lead:1', since: 'x12' }, { room: 'lead:1', since: {} },
            { room: ['lead:1'] }, { rooms: [{ since: 1 }] }]) {
            const a = await c.request({ type: 'subscribe', ...bad });
            assert.equal(a.ok, false, JSON.stringify(bad));
            assert.equal(a.error.code, 'BAD_REQUEST');
        }
        const f = await c.request({ type: 'subscribe', rooms: [
            { room: 'lead:1', since: 1 }, { room: 'secret:1', since: 1 }] });
        assert.equal(f.error.code, 'FORBIDDEN');
        assert.equal(f.error.room, 'secret:1');
        assert.equal(evs(c).length, 0);
        c.close();
    });

    await d.stop();
});

test('#10 since older than the log holds: joined with gap: true',
    async (t) => {
    /* The smallest log (1 MiB) and enough publishes to wrap it. */
    const d = await startDaemon(t, { config: { workers: 2,
        jwt_secret: SECRET, message_log_size: '1m' } });
    const track = tracker(t);
    const before = await quietTotals(d);
    const first = (await publish(d, { room: 'lead:7', event: 'e',
        data: { n: 0 } }))[0];
    const big = 'x'.repeat(900);
    for (let i = 0; i < 30; i++) {
        const items = [];
        for (let k = 0; k < 50; k++)
            items.push({ room: 'lead:8', event: 'fill', data: { big } });
        await publish(d, items);
    }
    const c = await open(d.port, { token: tok('u4'), track });
    const a = await c.request({ type: 'subscribe', rooms: [
        { room: 'lead:7', since: first }, { room: 'lead:9' }] });
    assert.deepEqual(a, { type: 'ack', id: a.id, ok: true,
        rooms: ['lead:7', 'lead:9'], gap: true });
    const o = await publish(d, { room: 'lead:7', event: 'e',
        data: { n: 1 } });
    const live = await c.next(3000);
    assert.equal(live.offset, o[0]);
    await expectDeltas(d, before, { subscribe_gaps: 1 });
    c.close();
    await d.stop();
});

test('#10 Socket.IO with the CRM\'s settings: subscribe {room, since}',
    async (t) => {
    const d = await startDaemon(t, { config: { workers: 2,
        jwt_secret: SECRET } });
    const track = sio.tracker(t);
    const opts = () => ({ auth: { token: tok('crm1') }, track,
        transports: ['websocket', 'polling'], reconnection: false,
        forceNew: true });
    const s1 = await sio.connect(d.port, opts());
    const seen1 = [];
    s1.on('lead:update', (...args) => seen1.push(args));
    assert.equal((await sio.ack(s1, 'subscribe', 'lead:5'))[0].ok, true);
    await publish(d, { room: 'lead:5', event: 'lead:update',
        data: { v: 1 } });
    await waitFor(() => seen1.length === 1, 3000, 'first event');
    const last = seen1[0][1];
    assert.equal(typeof last, 'string', 'offset is the last argument');
    s1.disconnect();
    const o = await publish(d, [
        { room: 'lead:5', event: 'lead:update', data: { v: 2 } },
        { room: 'lead:5', event: 'lead:update', data: { v: 3 } }]);
    const s2 = await sio.connect(d.port, opts());
    const seen2 = [];
    s2.on('lead:update', (...args) => seen2.push(args));
    const [ack] = await sio.ack(s2, 'subscribe', { room: 'lead:5',
        since: last });
    assert.deepEqual(ack, { ok: true, rooms: ['lead:5'], replayed: 2 });
    /* The replayed events came before the ack. */
    assert.deepEqual(seen2.map((a) => [a[0].v, a[1]]),
        [[2, String(o[0])], [3, String(o[1])]]);
    const [arr] = await sio.ack(s2, 'subscribe', [{ room: 'lead:6',
        since: '0' }, 'lead:5']);
    assert.deepEqual(arr, { ok: true, rooms: ['lead:6'] });
    s2.disconnect();
    await sleep(100);
    await d.stop();
});
