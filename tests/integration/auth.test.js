'use strict';
/*
 * Authentication on /ws against the real daemon: every token error code seen
 * by a real `ws` client (upgrade status, error message, close code and
 * reason) with HS256 and RS256 configurations, leeway edges, numeric sub,
 * issuer/audience, required_role, max_token_size, auth by first message and
 * its timeout, anonymous clients, refresh, token-expiring and the 4001
 * close, no token or secret in replies or the log, and the admin API's
 * api_key / JWT authorization.
 * Issue: "Authentication, rooms and cross-worker fan-out".
 * Run: WSGATE_BIN=$PWD/wsgate node --test --test-concurrency=1 \
 *          tests/integration/auth.test.js
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { sleep, startDaemon } = require('./lib/daemon');
const { client, expectDeltas, expectRefused, now, open, openAuth, post,
    quietTotals, signJwt, tracker, within } = require('./lib/wsj');

/* The harness's stop() races the exit against an uncleared timer of this
 * length, which keeps node alive after the last test: keep it short. */
const STOP_MS = 6000;
const SECRET = 'itest-jwt-secret-6f1d2c9a8b7e';

/* Tokens and secrets a test used: none may appear in the daemon log or in
 * any reply a client received. */
function secrets(t, d) {
    const list = [];
    const clients = [];
    const s = {
        add(tok) {
            list.push(tok);
            return tok;
        },
        watch(ws) {
            clients.push(ws);
            return ws;
        },
        check() {
            const log = d.log();
            assert.ok(log.length > 0, 'the daemon wrote a log');
            for (const x of list) {
                /* The whole token, and its signature (the part that is
                 * secret-equivalent) when it has one of some length. */
                const parts = [x];
                const sig = x.split('.')[2];
                if (sig && sig.length >= 16)
                    parts.push(sig);
                for (const p of parts) {
                    assert.ok(!log.includes(p),
                        `the log contains a token or secret: ${p.slice(0, 24)}…`);
                    for (const ws of clients)
                        for (const r of ws.raw)
                            assert.ok(!r.includes(p),
                                `a reply contains a token or secret: ${r}`);
                }
            }
        },
    };
    return s;
}

/* ------------------------------------------------------------------ */

test('HS256: every token error code at connect, by header and by message',
    async (t) => {
    const d = await startDaemon(t, { config: {
        jwt_secret: SECRET, log_level: 'debug', auth_timeout: '2s',
    } });
    const track = tracker(t);
    const sec = secrets(t, d);
    sec.add(SECRET);
    const port = d.port;
    const sign = (p, o = {}) => sec.add(signJwt(p, { secret: SECRET, ...o }));
    const T = now();
    const before = await quietTotals(d);

    /* A good token: open, no error, own user room, ping answered. */
    const good = sign({ sub: 'u1', exp: T + 300 });
    const ws = sec.watch(await open(port, { token: good, track }));
    assert.equal(ws.upgradeStatus, 101);
    const pong = await ws.request({ type: 'ping' });
    assert.equal(pong.type, 'pong', JSON.stringify(pong));
    assert.ok(Math.abs(pong.ts - Date.now()) < 5000, 'pong ts is now (ms)');
    const sub = await ws.request({ type: 'subscribe', room: 'user:u1' });
    assert.deepEqual(sub.rooms, [], 'user:u1 was joined already');

    const cases = [
        /* [what, token, code] */
        ['garbage', 'not-a-jwt', 'TOKEN_MALFORMED'],
        ['two segments', 'abc.def', 'TOKEN_MALFORMED'],
        ['bad base64 header', '!!!.@@@.###', 'TOKEN_MALFORMED'],
        ['header not JSON', `${Buffer.from('nope').toString('base64url')}.`
            + `${Buffer.from('{}').toString('base64url')}.c2ln`,
            'TOKEN_MALFORMED'],
        ['bad signature', sign({ sub: 'u1', exp: T + 300 },
            { secret: 'another-secret' }), 'TOKEN_INVALID'],
        ['tampered payload', (() => {
            const [h, , s] = good.split('.');
            return `${h}.${Buffer.from(JSON.stringify({ sub: 'admin',
                exp: T + 300 })).toString('base64url')}.${s}`;
        })(), 'TOKEN_INVALID'],
        ['alg HS384 when HS256 is configured', sign({ sub: 'u1',
            exp: T + 300 }, { alg: 'HS384' }), 'TOKEN_INVALID'],
        ['alg none', sign({ sub: 'u1', exp: T + 300 }, { alg: 'none' }),
            'TOKEN_INVALID'],
        ['alg None', sign({ sub: 'u1', exp: T + 300 },
            { alg: 'none', header: { alg: 'None' } }), 'TOKEN_INVALID'],
        ['expired', sign({ sub: 'u1', exp: T - 5 }), 'TOKEN_EXPIRED'],
        ['exp just passed (leeway 0)', sign({ sub: 'u1', exp: now() - 1 }),
            'TOKEN_EXPIRED'],
        ['nbf in the future', sign({ sub: 'u1', nbf: T + 120,
            exp: T + 300 }), 'TOKEN_NOT_YET_VALID'],
    ];
    const counts = { TOKEN_MISSING: 0, TOKEN_MALFORMED: 0, TOKEN_INVALID: 0,
        TOKEN_EXPIRED: 0, TOKEN_NOT_YET_VALID: 0 };
    for (const [what, tok, code] of cases) {
        sec.add(tok);
        const r = await expectRefused(port, tok, code, `header: ${what}`,
            { track });
        sec.watch(r.ws);
        counts[code]++;
        /* The same token as the first message. */
        const c = sec.watch(await open(port, { track }));
        c.sendJson({ type: 'auth', token: tok, id: 1 });
        const err = await c.nextMatch((m) => m.type === 'error', 3000,
            `message: ${what}: error`);
        assert.equal(err.code, code, `message: ${what}: ${JSON.stringify(err)}`);
        assert.deepEqual(await c.waitClose(), { code: 4002, reason: code },
            `message: ${what}: close`);
        counts[code]++;
    }

    /* An empty token in the auth message is TOKEN_MISSING; so is one
     * without a token field. */
    for (const m of [{ type: 'auth', token: '' }, { type: 'auth' }]) {
        const c = sec.watch(await open(port, { track }));
        c.sendJson(m);
        const err = await c.nextMatch((x) => x.type === 'error');
        assert.equal(err.code, 'TOKEN_MISSING', JSON.stringify(m));
        assert.deepEqual(await c.waitClose(),
            { code: 4002, reason: 'TOKEN_MISSING' }, JSON.stringify(m));
        counts.TOKEN_MISSING++;
    }
    /* Before authenticating, only auth and ping are allowed: subscribe is
     * TOKEN_MISSING and closes with 4002. */
    {
        const c = sec.watch(await open(port, { track }));
        const p = await c.request({ type: 'ping' });
        assert.equal(p.type, 'pong');
        c.sendJson({ type: 'subscribe', room: 'r1', id: 7 });
        const err = await c.nextMatch((x) => x.type === 'error');
        assert.equal(err.code, 'TOKEN_MISSING');
        assert.deepEqual(await c.waitClose(),
            { code: 4002, reason: 'TOKEN_MISSING' });
    }

    /* Good tokens by first message: ack with the user. */
    const { ws: w2, ack } = await openAuth(port, good, { track });
    sec.watch(w2);
    assert.deepEqual(ack, { type: 'ack', id: 1, ok: true, user: 'u1' });

    /* Numeric sub: the user is its decimal text; publish to the numeric
     * user reaches it through user:12345. */
    const num = sign({ sub: 12345, exp: T + 300 });
    const { ws: w3, ack: a3 } = await openAuth(port, num, { track });
    sec.watch(w3);
    assert.equal(a3.ok, true, JSON.stringify(a3));
    assert.equal(a3.user, '12345');
    const pr = await post(d, '/api/publish', { user: 12345, event: 'hi',
        data: { n: 1 } });
    assert.equal(pr.status, 200, pr.body);
    const ev = await w3.nextMatch((m) => m.type === 'event');
    assert.equal(ev.event, 'hi');
    assert.equal(ev.room, 'user:12345');
    assert.deepEqual(ev.data, { n: 1 });
    assert.equal(ev.offset, pr.json.offset);

    /* A token without exp is accepted (jwt_require_exp is off). */
    const noexp = sign({ sub: 'u9' });
    const w4 = sec.watch(await open(port, { token: noexp, track }));
    assert.equal((await w4.request({ type: 'ping' })).type, 'pong');

    /* ok: good header, good msg, numeric, noexp. */
    const expectC = {
        auth_ok: 4,
        auth_missing: counts.TOKEN_MISSING,
        auth_malformed: counts.TOKEN_MALFORMED,
        auth_invalid: counts.TOKEN_INVALID,
        auth_expired: counts.TOKEN_EXPIRED,
        auth_not_yet_valid: counts.TOKEN_NOT_YET_VALID,
        auth_forbidden: 0,
        auth_timeouts: 0,
    };
    await expectDeltas(d, before, expectC, { exact: true });

    sec.check();
    for (const c of [ws, w2, w3, w4])
        c.close();
    await d.stop(STOP_MS);
    sec.check();
});

test('RS256: valid tokens, key confusion, wrong key, alg none, expiry',
    async (t) => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa',
        { modulusLength: 2048 });
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' });
    const d0 = { dir: fs.mkdtempSync(path.join(require('node:os').tmpdir(),
        'wsgate-key-')) };
    t.after(() => fs.rmSync(d0.dir, { recursive: true, force: true }));
    const keyPath = path.join(d0.dir, 'pub.pem');
    fs.writeFileSync(keyPath, pem);

    const d = await startDaemon(t, { config: {
        jwt_alg: 'RS256', jwt_public_key: keyPath, log_level: 'debug',
    } });
    const track = tracker(t);
    const sec = secrets(t, d);
    const port = d.port;
    const T = now();
    const before = await quietTotals(d);
    const rs = (p, key = privateKey) => sec.add(signJwt(p,
        { alg: 'RS256', privateKey: key }));

    const good = rs({ sub: 'r1', role: 'agent', exp: T + 300 });
    const ws = sec.watch(await open(port, { token: good, track }));
    assert.equal((await ws.request({ type: 'ping' })).type, 'pong');
    const { ws: w2, ack } = await openAuth(port, good, { track });
    sec.watch(w2);
    assert.deepEqual(ack, { type: 'ack', id: 1, ok: true, user: 'r1' });

    const cases = [
        ['HS256 signed with the public key PEM as secret',
            sec.add(signJwt({ sub: 'r1', exp: T + 300 }, { alg: 'HS256',
                secret: pem })), 'TOKEN_INVALID'],
        ['HS256 signed with the DER public key as secret',
            sec.add(signJwt({ sub: 'r1', exp: T + 300 }, { alg: 'HS256',
                secret: publicKey.export({ type: 'spki', format: 'der' }) })),
            'TOKEN_INVALID'],
        ['RS256 signed with another key',
            rs({ sub: 'r1', exp: T + 300 }, other.privateKey),
            'TOKEN_INVALID'],
        ['alg none', sec.add(signJwt({ sub: 'r1', exp: T + 300 },
            { alg: 'none' })), 'TOKEN_INVALID'],
        ['truncated signature', good.slice(0, -10), 'TOKEN_INVALID'],
        ['expired', rs({ sub: 'r1', exp: T - 5 }), 'TOKEN_EXPIRED'],
        ['not yet valid', rs({ sub: 'r1', nbf: T + 100, exp: T + 300 }),
            'TOKEN_NOT_YET_VALID'],
        ['garbage', 'x.y', 'TOKEN_MALFORMED'],
    ];
    const n = {};
    for (const [what, tok, code] of cases) {
        const r = await expectRefused(port, tok, code, what, { track });
        sec.watch(r.ws);
        n[code] = (n[code] || 0) + 1;
    }
    await expectDeltas(d, before, {
        auth_ok: 2,
        auth_invalid: n.TOKEN_INVALID,
        auth_expired: n.TOKEN_EXPIRED,
        auth_not_yet_valid: n.TOKEN_NOT_YET_VALID,
        auth_malformed: n.TOKEN_MALFORMED,
    }, { exact: true });
    sec.check();
    ws.close();
    w2.close();
    await d.stop(STOP_MS);
    sec.check();
});

test('leeway edges, issuer, audience, required_role, max_token_size',
    async (t) => {
    const track = tracker(t);
    const sign = (p, o = {}) => signJwt(p, { secret: SECRET, ...o });

    /* jwt_leeway = 30: 10 s past exp and 20 s before nbf are accepted;
     * 40 s past exp / 40 s before nbf are not. */
    {
        const d = await startDaemon(t, { config: { jwt_secret: SECRET,
            jwt_leeway: 30, token_expiry_warning: 0 } });
        const T = now();
        const ok1 = await open(d.port, { track,
            token: sign({ sub: 'l1', exp: T - 10 }) });
        assert.equal((await ok1.request({ type: 'ping' })).type, 'pong');
        const ok2 = await open(d.port, { track,
            token: sign({ sub: 'l2', nbf: T + 20, exp: T + 300 }) });
        assert.equal((await ok2.request({ type: 'ping' })).type, 'pong');
        await expectRefused(d.port, sign({ sub: 'l3', exp: T - 40 }),
            'TOKEN_EXPIRED', 'leeway 30: 40 s past exp', { track });
        await expectRefused(d.port, sign({ sub: 'l4', nbf: T + 40,
            exp: T + 300 }), 'TOKEN_NOT_YET_VALID',
            'leeway 30: nbf 40 s ahead', { track });
        ok1.close();
        ok2.close();
        await d.stop(STOP_MS);
    }

    /* Issuer, audience and a required role; a role array. */
    {
        const d = await startDaemon(t, { config: { jwt_secret: SECRET,
            jwt_issuer: 'crm', jwt_audience: 'wsgate',
            required_role: 'agent', jwt_require_exp: 'on' } });
        const before = await quietTotals(d);
        const T = now();
        const base = { sub: 'a1', iss: 'crm', aud: 'wsgate', role: 'agent',
            exp: T + 300 };
        const good = [
            base,
            { ...base, aud: ['other', 'wsgate'] },
            { ...base, role: ['viewer', 'agent'] },
        ];
        for (const p of good) {
            const c = await open(d.port, { track, token: sign(p) });
            assert.equal((await c.request({ type: 'ping' })).type, 'pong',
                JSON.stringify(p));
            c.close();
        }
        const bad = [
            [{ ...base, iss: 'evil' }, 'TOKEN_INVALID', 'wrong iss'],
            [{ ...base, iss: undefined }, 'TOKEN_INVALID', 'no iss'],
            [{ ...base, aud: 'other' }, 'TOKEN_INVALID', 'wrong aud'],
            [{ ...base, aud: ['a', 'b'] }, 'TOKEN_INVALID', 'aud array '
                + 'without ours'],
            [{ ...base, aud: undefined }, 'TOKEN_INVALID', 'no aud'],
            [{ ...base, role: 'viewer' }, 'FORBIDDEN', 'wrong role'],
            [{ ...base, role: undefined }, 'FORBIDDEN', 'no role'],
            [{ ...base, role: ['viewer', 'agentx'] }, 'FORBIDDEN',
                'role array without agent'],
            [{ ...base, exp: undefined }, 'TOKEN_INVALID',
                'no exp with jwt_require_exp'],
        ];
        const n = {};
        for (const [p, code, what] of bad) {
            await expectRefused(d.port, sign(p), code, what, { track });
            n[code] = (n[code] || 0) + 1;
        }
        const d1 = await expectDeltas(d, before, { auth_ok: 3,
            auth_forbidden: n.FORBIDDEN }, { exact: true });
        assert.ok(d1);
        await d.stop(STOP_MS);
    }

    /* max_token_size = 128: a short valid token passes, one byte over is
     * TOKEN_MALFORMED (before any parsing), as header or message. */
    {
        const d = await startDaemon(t, { config: { jwt_secret: SECRET,
            max_token_size: 128 } });
        const before = await quietTotals(d);
        const mk = (sub) => sign({ sub, exp: now() + 300 },
            { header: { typ: undefined } });
        let short = mk('s');
        assert.ok(short.length <= 128, `short token is ${short.length}`);
        /* Grow sub until the token is just over 128 bytes. */
        let sub = 's', long;
        for (;;) {
            long = mk(sub);
            if (long.length > 128)
                break;
            short = long;
            sub += 'x';
        }
        assert.ok(long.length <= 132, `long token is ${long.length}`);
        const c = await open(d.port, { track, token: short });
        assert.equal((await c.request({ type: 'ping' })).type, 'pong');
        await expectRefused(d.port, long, 'TOKEN_MALFORMED',
            `token of ${long.length} bytes`, { track });
        const m = await open(d.port, { track });
        m.sendJson({ type: 'auth', token: 'a'.repeat(10000), id: 1 });
        assert.equal((await m.nextMatch((x) => x.type === 'error')).code,
            'TOKEN_MALFORMED');
        assert.deepEqual(await m.waitClose(),
            { code: 4002, reason: 'TOKEN_MALFORMED' });
        await expectDeltas(d, before, { auth_ok: 1, auth_malformed: 2 },
            { exact: true });
        c.close();
        await d.stop(STOP_MS);
    }
});

test('auth_timeout = 500ms closes a client that does not authenticate',
    async (t) => {
    const track = tracker(t);
    const sign = (p) => signJwt(p, { secret: SECRET });

    /* auth_timeout = 500ms: a silent client gets TOKEN_MISSING and 4008
     * after about half a second; one that authenticates in time stays. */
    {
        const d = await startDaemon(t, { config: { jwt_secret: SECRET,
            auth_timeout: '500ms' } });
        const before = await quietTotals(d);
        const t0 = Date.now();
        const silent = await open(d.port, { track });
        const pinger = await open(d.port, { track });
        assert.equal((await pinger.request({ type: 'ping' })).type, 'pong');
        const authed = await open(d.port, { track });
        const ack = await authed.request({ type: 'auth',
            token: sign({ sub: 'u1', exp: now() + 300 }) });
        assert.equal(ack.ok, true);
        const err = await silent.nextMatch((m) => m.type === 'error', 2000);
        assert.equal(err.code, 'TOKEN_MISSING');
        assert.deepEqual(await silent.waitClose(2000),
            { code: 4008, reason: 'TOKEN_MISSING' });
        const took = Date.now() - t0;
        assert.ok(took >= 400 && took < 1500, `closed after ${took} ms`);
        /* A ping does not count as authentication. */
        assert.equal((await pinger.waitClose(2000)).code, 4008);
        await sleep(300);
        assert.equal(authed.closeInfo, null, 'authenticated client stays');
        assert.equal((await authed.request({ type: 'ping' })).type, 'pong');
        await expectDeltas(d, before, { auth_timeouts: 2, auth_ok: 1 },
            { exact: true });
        authed.close();
        await d.stop(STOP_MS);
    }
});

test('allow_anonymous = on: a token-less client stays and pings',
    async (t) => {
    const track = tracker(t);
    const sign = (p) => signJwt(p, { secret: SECRET });
    /* allow_anonymous = on. One anonymous client may not subscribe
     * (FORBIDDEN, connection stays), has a bad auth message refused
     * without a close, and becomes a user with a good one (all within
     * auth_timeout); another just stays anonymous and must still be
     * served after auth_timeout has passed. */
    const d = await startDaemon(t, { config: { jwt_secret: SECRET,
        allow_anonymous: 'on', auth_timeout: '500ms' } });
    const before = await quietTotals(d);
    const anon = await open(d.port, { track });
    const stay = await open(d.port, { track });
    assert.equal((await stay.request({ type: 'ping' })).type, 'pong');
    const s = await anon.request({ type: 'subscribe', room: 'r1' });
    assert.equal(s.ok, false, JSON.stringify(s));
    assert.equal(s.error.code, 'FORBIDDEN');
    const bad = await anon.request({ type: 'auth', token: 'garbage' });
    assert.equal(bad.ok, false, JSON.stringify(bad));
    assert.equal(bad.error.code, 'TOKEN_MALFORMED');
    assert.equal(anon.closeInfo, null);
    const good = await anon.request({ type: 'auth',
        token: sign({ sub: 'anon2user', exp: now() + 300 }) });
    assert.equal(good.ok, true, JSON.stringify(good));
    assert.equal(good.user, 'anon2user');
    const pr = await post(d, '/api/publish', { user: 'anon2user',
        event: 'e', data: 1 });
    assert.equal(pr.status, 200);
    assert.equal((await anon.nextMatch((m) => m.type === 'event')).event,
        'e');
    /* Publish to everyone reaches the anonymous client too. */
    const all = await post(d, '/api/publish', { event: 'all', data: 2 });
    assert.equal(all.status, 200);
    const ea = await stay.nextMatch((m) => m.type === 'event');
    assert.equal(ea.event, 'all');
    assert.equal(ea.room, undefined);

    await sleep(900); /* well past auth_timeout */
    assert.equal(stay.closeInfo, null,
        'anonymous client closed by auth_timeout: '
        + JSON.stringify(stay.closeInfo) + ' ' + JSON.stringify(stay.q));
    assert.equal((await stay.request({ type: 'ping' })).type, 'pong');
    assert.equal(anon.closeInfo, null);
    await expectDeltas(d, before, { auth_timeouts: 0, clients: 2 },
        { exact: true });
    anon.close();
    stay.close();
    await d.stop(STOP_MS);
});

test('refresh: same user, another user, bad tokens; the connection stays',
    async (t) => {
    const track = tracker(t);
    const sign = (p) => signJwt(p, { secret: SECRET });

    /* Refresh on a live connection. */
    {
        const d = await startDaemon(t, { config: { jwt_secret: SECRET,
            token_expiry_warning: 0 } });
        const before = await quietTotals(d);
        const T = now();
        const ws = await open(d.port, { track,
            token: sign({ sub: 'u1', exp: T + 300 }) });
        const s1 = await ws.request({ type: 'subscribe', room: 'user:u1' });
        assert.equal(s1.ok, true);
        const same = await ws.request({ type: 'auth',
            token: sign({ sub: 'u1', exp: T + 600 }) });
        assert.deepEqual(same, { type: 'ack', id: 2, ok: true, user: 'u1' });
        const other = await ws.request({ type: 'auth',
            token: sign({ sub: 'u2', exp: T + 600 }) });
        assert.equal(other.ok, false, JSON.stringify(other));
        assert.equal(other.error.code, 'FORBIDDEN');
        const bad = await ws.request({ type: 'auth',
            token: signJwt({ sub: 'u1', exp: T + 600 }, { secret: 'x' }) });
        assert.equal(bad.ok, false);
        assert.equal(bad.error.code, 'TOKEN_INVALID');
        const exp = await ws.request({ type: 'auth',
            token: sign({ sub: 'u1', exp: T - 10 }) });
        assert.equal(exp.ok, false);
        assert.equal(exp.error.code, 'TOKEN_EXPIRED');
        const miss = await ws.request({ type: 'auth', token: '' });
        assert.equal(miss.ok, false);
        assert.equal(miss.error.code, 'TOKEN_MISSING');
        /* Still connected, still user u1 with its room. */
        assert.equal(ws.closeInfo, null);
        assert.equal((await ws.request({ type: 'ping' })).type, 'pong');
        const pr = await post(d, '/api/publish', { user: 'u1', event: 'x' });
        assert.equal(pr.status, 200);
        const ev = await ws.nextMatch((m) => m.type === 'event');
        assert.equal(ev.room, 'user:u1');
        const pr2 = await post(d, '/api/publish', { user: 'u2', event: 'y' });
        assert.equal(pr2.status, 200);
        await sleep(200);
        assert.equal(ws.events.filter((e) => e.event === 'y').length, 0,
            'refused refresh did not switch the user');
        await expectDeltas(d, before, { auth_ok: 2, auth_forbidden: 1,
            auth_invalid: 1, auth_expired: 1, auth_missing: 1 },
            { exact: true });
        ws.close();
        await d.stop(STOP_MS);
    }
});

test('an empty Bearer credential on the upgrade is TOKEN_MISSING at once',
    async (t) => {
    /* "Authorization: Bearer " with nothing after it: the client did present
     * a token, an empty one, so it is refused at connect (4002), not left
     * to wait for an auth message until auth_timeout (4008). */
    const track = tracker(t);
    const d = await startDaemon(t, { config: { jwt_secret: SECRET,
        auth_timeout: '1s' } });
    const before = await quietTotals(d);
    for (const h of ['Bearer ', 'Bearer  ', 'bearer '])
        await expectRefused(d.port, undefined, 'TOKEN_MISSING',
            `Authorization: ${JSON.stringify(h)}`,
            { track, headers: { Authorization: h } });
    await expectDeltas(d, before, { auth_missing: 3, auth_timeouts: 0 },
        { exact: true });
    await d.stop(STOP_MS);
});

test('token-expiring notice and the 4001 close at exp + leeway',
    async (t) => {
    const track = tracker(t);
    const sign = (p) => signJwt(p, { secret: SECRET });
    const d = await startDaemon(t, { config: { jwt_secret: SECRET,
        token_expiry_warning: 2 } });
    const before = await quietTotals(d);
    /* Start on a fresh second so "now + 3" is 3 whole seconds. */
    await sleep(1000 - (Date.now() % 1000) + 20);
    const T = now();
    const t0 = Date.now();
    const exp = T + 3;
    const a = await open(d.port, { track, token: sign({ sub: 'e1', exp }) });
    /* b refreshes to a later exp after the warning: it stays. */
    const b = await open(d.port, { track, token: sign({ sub: 'e2', exp }) });
    /* c's refresh for another user is refused: it still ends at exp. */
    const c = await open(d.port, { track, token: sign({ sub: 'e3', exp }) });
    /* e has less than the warning left: warned at once. */
    const e = await open(d.port, { track,
        token: sign({ sub: 'e4', exp: T + 1 }) });
    const we = await e.nextMatch((m) => m.type === 'event', 800,
        'immediate token-expiring');
    assert.equal(we.event, 'token-expiring');
    assert.equal(we.room, undefined);
    assert.equal(we.data.exp, T + 1);
    assert.ok(we.data.in >= 0 && we.data.in <= 1, JSON.stringify(we));

    const wa = await a.nextMatch((m) => m.type === 'event', 3000,
        'token-expiring');
    const at = Date.now() - t0;
    assert.equal(wa.event, 'token-expiring');
    assert.deepEqual(Object.keys(wa.data).sort(), ['exp', 'in']);
    assert.equal(wa.data.exp, exp);
    assert.ok(wa.data.in >= 1 && wa.data.in <= 2, JSON.stringify(wa));
    assert.ok(at >= 500 && at <= 2200, `warning after ${at} ms`);
    await b.nextMatch((m) => m.type === 'event', 1500, 'b warning');
    await c.nextMatch((m) => m.type === 'event', 1500, 'c warning');
    const rb = await b.request({ type: 'auth',
        token: sign({ sub: 'e2', exp: T + 60 }) });
    assert.equal(rb.ok, true, JSON.stringify(rb));
    const rc = await c.request({ type: 'auth',
        token: sign({ sub: 'other', exp: T + 60 }) });
    assert.equal(rc.ok, false);
    assert.equal(rc.error.code, 'FORBIDDEN');

    const ca = await a.waitClose(4000);
    const closedAt = Date.now();
    assert.deepEqual(ca, { code: 4001, reason: 'TOKEN_EXPIRED' });
    assert.ok(closedAt >= exp * 1000 - 50 && closedAt <= exp * 1000 + 1500,
        `closed ${closedAt - exp * 1000} ms after exp`);
    assert.deepEqual(await c.waitClose(2000),
        { code: 4001, reason: 'TOKEN_EXPIRED' }, 'refused refresh kept exp');
    assert.deepEqual(await e.waitClose(2000),
        { code: 4001, reason: 'TOKEN_EXPIRED' });
    await sleep(500);
    assert.equal(b.closeInfo, null, 'refreshed client stays past old exp');
    assert.equal((await b.request({ type: 'ping' })).type, 'pong');
    /* Exactly one warning each before the refresh. */
    for (const x of [a, c, e])
        assert.equal(x.events.filter((m) => m.event === 'token-expiring')
            .length, 1);
    await expectDeltas(d, before, { token_warnings: 4,
        token_expiry_closes: 3 }, { exact: true });
    b.close();
    await d.stop(STOP_MS);
});

test('the close comes at exp + jwt_leeway, not at exp; JWT_SECRET env',
    async (t) => {
    const track = tracker(t);
    const ENV_SECRET = 'from-the-environment-93a1';
    const d = await startDaemon(t, { env: { JWT_SECRET: ENV_SECRET },
        config: { jwt_leeway: 2, token_expiry_warning: 1 } });
    /* The secret comes from JWT_SECRET (none in the file). */
    await expectRefused(d.port, signJwt({ sub: 'x', exp: now() + 60 },
        { secret: SECRET }), 'TOKEN_INVALID', 'file-less secret', { track });
    await sleep(1000 - (Date.now() % 1000) + 20);
    const exp = now() + 1;
    const c = await open(d.port, { track, token: signJwt({ sub: 'lw', exp },
        { secret: ENV_SECRET }) });
    const w = await c.nextMatch((m) => m.type === 'event', 800,
        'immediate token-expiring');
    assert.equal(w.event, 'token-expiring');
    assert.equal(w.data.exp, exp);
    const ci = await c.waitClose(5000);
    const at = Date.now() - exp * 1000;
    assert.deepEqual(ci, { code: 4001, reason: 'TOKEN_EXPIRED' });
    assert.ok(at >= 1900 && at <= 3500,
        `closed ${at} ms after exp (leeway 2 s)`);
    await d.stop(STOP_MS);
    assert.ok(!d.log().includes(ENV_SECRET), 'the log has the secret');
});

test('issue 18: tokens with different exp each end at their own exp, '
    + 'whatever closes or refreshes around them', async (t) => {
    /* The expiry deadlines of a worker's clients are kept in one queue:
     * each client must close at its own exp (not before, not never),
     * whatever the order they came in, whoever left the queue before them
     * (closed clients, refreshes to a later or an earlier exp). */
    const track = tracker(t);
    const sign = (p) => signJwt(p, { secret: SECRET });
    const d = await startDaemon(t, { config: { jwt_secret: SECRET,
        token_expiry_warning: 0, workers: 1 } });
    const before = await quietTotals(d);
    await sleep(1000 - (Date.now() % 1000) + 20);
    const T = now();
    const cs = [];
    for (let k = 0; k < 12; k++) {
        const exp = T + 3 - (k % 3); /* later ones first */
        cs.push({ k, exp, ws: await open(d.port, { track,
            token: sign({ sub: `x${k}`, exp }) }) });
    }
    /* Two leave before any exp (out of the middle of the queue). */
    for (const k of [1, 4]) {
        cs[k].ws.close();
        await cs[k].ws.waitClose(2000);
    }
    /* One moves later (stays), one moves earlier. */
    const later = await cs[0].ws.request({ type: 'auth',
        token: sign({ sub: 'x0', exp: T + 60 }) });
    assert.equal(later.ok, true, JSON.stringify(later));
    const earlier = await cs[2].ws.request({ type: 'auth',
        token: sign({ sub: 'x2', exp: T + 1 }) });
    assert.equal(earlier.ok, true, JSON.stringify(earlier));
    cs[2].exp = T + 1;
    const ends = cs.filter((c) => ![0, 1, 4].includes(c.k));
    await Promise.all(ends.map(async (c) => {
        const ci = await c.ws.waitClose(6000);
        c.at = Date.now();
        assert.deepEqual(ci, { code: 4001, reason: 'TOKEN_EXPIRED' },
            `client ${c.k}`);
        assert.ok(c.at >= c.exp * 1000 - 50,
            `client ${c.k} closed ${c.exp * 1000 - c.at} ms before its exp`);
        assert.ok(c.at <= c.exp * 1000 + 1500,
            `client ${c.k} closed ${c.at - c.exp * 1000} ms after its exp`);
    }));
    /* Closed in the order of their exp (a second apart). */
    for (const x of ends)
        for (const y of ends)
            if (x.exp < y.exp)
                assert.ok(x.at < y.at, `client ${x.k} (exp ${x.exp - T}) `
                    + `closed after client ${y.k} (exp ${y.exp - T})`);
    assert.equal(cs[0].ws.closeInfo, null, 'the refreshed client stays');
    assert.equal((await cs[0].ws.request({ type: 'ping' })).type, 'pong');
    await expectDeltas(d, before, { token_expiry_closes: ends.length,
        token_warnings: 0 }, { exact: true });
    cs[0].ws.close();
    await d.stop(STOP_MS);
});

test('the clients gauge counts authenticated or anonymous clients only',
    async (t) => {
    /* wsgate.8: clients is "Authenticated or anonymous clients". A /ws
     * connection still waiting for its auth message is neither. */
    const track = tracker(t);
    const d = await startDaemon(t, { config: { jwt_secret: SECRET,
        auth_timeout: '5s' } });
    const a = await open(d.port, { track, token: signJwt({ sub: 'g1',
        exp: now() + 60 }, { secret: SECRET }) });
    const pending = [];
    for (let i = 0; i < 3; i++)
        pending.push(await open(d.port, { track }));
    await sleep(300);
    const tot = await quietTotals(d);
    assert.equal(tot.ws_open, 4, 'four WebSocket connections');
    assert.equal(tot.clients, 1, 'only the authenticated one is a client');
    for (const c of pending.concat(a))
        c.close();
    await d.stop(STOP_MS);
});

test('admin API: api_key, admin JWT, non-admin JWT', async (t) => {
    const d = await startDaemon(t, { config: { jwt_secret: SECRET,
        log_level: 'debug' } });
    const sec = secrets(t, d);
    sec.add(SECRET);
    sec.add(d.apiKey);
    const T = now();
    const admin = sec.add(signJwt({ sub: 'ops', role: 'admin',
        exp: T + 300 }, { secret: SECRET }));
    const adminArr = sec.add(signJwt({ sub: 'ops', role: ['x', 'admin'],
        exp: T + 300 }, { secret: SECRET }));
    const agent = sec.add(signJwt({ sub: 'a', role: 'agent', exp: T + 300 },
        { secret: SECRET }));
    const expired = sec.add(signJwt({ sub: 'ops', role: 'admin',
        exp: T - 100 }, { secret: SECRET }));
    const forged = sec.add(signJwt({ sub: 'ops', role: 'admin',
        exp: T + 300 }, { secret: 'nope' }));
    const body = { room: 'r', event: 'e', data: 1 };
    const replies = [];
    async function check(auth, status, code, what) {
        for (const [p, m] of [['/socket-stats', 'GET'],
            ['/api/publish', 'POST']]) {
            const r = m === 'GET' ? await d.admin(p, { auth })
                : await post(d, p, body, { auth });
            replies.push(r.body);
            assert.equal(r.status, status, `${what} ${p}: ${r.body}`);
            if (code) {
                assert.equal(r.json && r.json.error && r.json.error.code,
                    code, `${what} ${p}: ${r.body}`);
            }
        }
    }
    await check(false, 401, 'UNAUTHORIZED', 'no credentials');
    await check('wrong-key', 401, 'UNAUTHORIZED', 'wrong key');
    await check(true, 200, null, 'api_key');
    await check(admin, 200, null, 'admin JWT');
    await check(adminArr, 200, null, 'admin JWT (role array)');
    await check(agent, 403, 'FORBIDDEN', 'non-admin JWT');
    await check(expired, 401, null, 'expired admin JWT');
    await check(forged, 401, null, 'forged admin JWT');
    const dis = await post(d, '/socket/disconnect-user', { userId: 'zz' },
        { auth: agent });
    assert.equal(dis.status, 403);
    const br = await post(d, '/socket/broadcast', { message: 'm' },
        { auth: admin });
    assert.equal(br.status, 200, br.body);
    for (const r of replies)
        for (const s of [SECRET, d.apiKey, admin, agent, forged])
            assert.ok(!r.includes(s), `reply echoes a secret: ${r}`);
    sec.check();
    await d.stop(STOP_MS);
    sec.check();
});
