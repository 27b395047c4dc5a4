'use strict';
/*
 * Presence (issue 14): GET /api/presence?room=R and GET /api/user/ID on
 * the admin port, answered by every worker (the master asks them over
 * their channels and merges), against /ws and Socket.IO clients spread
 * over 4 workers: the counts match the clients, leaving is seen at once,
 * the endpoints need the API key like /socket-stats, and a room nobody is
 * in is empty.
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test --test-concurrency=1 \
 *          tests/integration/presence.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { startDaemon } = require('./lib/daemon');
const sio = require('./lib/sio');
const wsj = require('./lib/wsj');

const SECRET = 'itest-presence-secret-0c4d';
const now = () => Math.floor(Date.now() / 1000);
const tokenFor = (sub) => sio.signJwt({ sub, exp: now() + 600,
    rooms: ['lead:*'] }, SECRET);

async function presence(d, room) {
    const r = await d.admin(`/api/presence?room=${encodeURIComponent(room)}`,
        { auth: true });
    assert.equal(r.status, 200, r.body);
    return r.json;
}

async function user(d, id) {
    const r = await d.admin(`/api/user/${encodeURIComponent(id)}`,
        { auth: true });
    assert.equal(r.status, 200, r.body);
    return r.json;
}

test('issue 14: presence over 4 workers matches the clients', async (t) => {
    const d = await startDaemon(t, { config: { jwt_secret: SECRET,
        workers: 4 } });
    const wtrack = wsj.tracker(t);
    const strack = sio.tracker(t);
    const users = ['ann', 'ben', 'cat', 'dan', 'eve'];
    const clients = [];
    /* 5 users x (3 /ws + 2 Socket.IO) connections, all in lead:42; ann's
     * also in lead:7 */
    for (const u of users) {
        for (let i = 0; i < 3; i++) {
            const ws = await wsj.open(d.port, { token: tokenFor(u),
                track: wtrack });
            const rooms = u === 'ann' ? ['lead:42', 'lead:7'] : ['lead:42'];
            const a = await ws.request({ type: 'subscribe', rooms });
            assert.equal(a.ok, true, JSON.stringify(a));
            clients.push(ws);
        }
        for (let i = 0; i < 2; i++) {
            const s = await sio.connect(d.port, { track: strack,
                transports: ['websocket'], reconnection: false,
                auth: { token: tokenFor(u) } });
            const [a] = await sio.ack(s, 'subscribe', 'lead:42');
            assert.equal(a.ok, true, JSON.stringify(a));
            clients.push(s);
        }
    }
    const p = await presence(d, 'lead:42');
    assert.equal(p.ok, true);
    assert.equal(p.complete, true);
    assert.equal(p.workers, 4);
    assert.equal(p.connections, 25);
    assert.equal(p.user_count, 5);
    assert.deepEqual(p.users.map((x) => x.user).sort(), users);
    for (const x of p.users)
        assert.equal(x.connections, 5, JSON.stringify(x));

    const a = await user(d, 'ann');
    assert.equal(a.connection_count, 5);
    assert.deepEqual(a.rooms.sort(), ['lead:42', 'lead:7', 'user:ann']);
    assert.equal(a.connections.filter((c) => c.rooms.includes('lead:7'))
        .length, 3);
    for (const c of a.connections) {
        assert.equal(c.ns, '/');
        assert.ok(Number.isInteger(c.worker) && c.worker > 0);
    }
    const seven = await presence(d, 'lead:7');
    assert.equal(seven.connections, 3);
    assert.deepEqual(seven.users, [{ user: 'ann', connections: 3 }]);

    /* leaving is seen at once */
    clients[0].close(); /* one of ann's /ws connections */
    await (clients[0].waitClose ? clients[0].waitClose() : null);
    const after = await sio.expectDeltas(d, {}, {}).then(() =>
        presence(d, 'lead:7'));
    assert.equal(after.connections, 2);

    const empty = await presence(d, 'lead:nobody');
    assert.deepEqual([empty.connections, empty.users, empty.complete],
        [0, [], true]);
    const none = await user(d, 'zed');
    assert.deepEqual([none.connection_count, none.rooms], [0, []]);

    assert.equal((await d.admin('/api/presence?room=lead:42')).status, 401);
    assert.equal((await d.admin('/api/user/ann')).status, 401);
    assert.equal((await d.admin('/api/presence', { auth: true })).status,
        400);
    for (const c of clients)
        c.close();
    await d.stop();
});

test('issue 14: presence_events: joins and leaves of matching rooms reach '
    + 'every member of the room', async (t) => {
    const d = await startDaemon(t, { config: { jwt_secret: SECRET,
        workers: 4, presence_events: 'lead:*' } });
    const wtrack = wsj.tracker(t);
    const before = await sio.quietTotals(d);
    const watchers = [];
    for (let i = 0; i < 4; i++) {
        const ws = await wsj.open(d.port, { token: tokenFor(`w${i}`),
            track: wtrack });
        assert.equal((await ws.request({ type: 'subscribe',
            room: 'lead:9' })).ok, true);
        watchers.push(ws);
    }
    const s = await sio.connect(d.port, { track: sio.tracker(t),
        transports: ['websocket'], reconnection: false,
        auth: { token: tokenFor('ann') } });
    const [a] = await sio.ack(s, 'subscribe', 'lead:9');
    assert.equal(a.ok, true);
    const own = await sio.recorded(s, 'presence');
    assert.deepEqual(own[1], { room: 'lead:9', user: 'ann',
        action: 'join' });
    for (const ws of watchers) {
        const ev = await ws.nextMatch((m) => m.type === 'event'
            && m.event === 'presence' && m.data.user === 'ann', 3000);
        assert.deepEqual(ev.data, { room: 'lead:9', user: 'ann',
            action: 'join' });
    }
    s.disconnect();
    for (const ws of watchers) {
        const ev = await ws.nextMatch((m) => m.type === 'event'
            && m.event === 'presence' && m.data.user === 'ann'
            && m.data.action === 'leave', 3000);
        assert.equal(ev.room, 'lead:9');
    }
    /* user rooms do not match lead:*: no event for them */
    await sio.expectDeltas(d, before, { presence_events_sent: 6 });
    const after = await sio.totals(d);
    assert.equal(after.presence_events_sent - (before.presence_events_sent
        ?? 0), 6, '4 watcher joins, ann join and leave');
    for (const ws of watchers)
        ws.close();
    await d.stop();
});
