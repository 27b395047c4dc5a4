'use strict';
/*
 * The daemon as a whole: connections counted per worker, crash respawn,
 * heartbeat watchdog, reload, configuration errors and precedence, admin
 * authentication, /metrics under promtool, -d/-s, handshake timeout, -h/-V.
 * Run: node --test --test-concurrency=1 tests/integration/
 */
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { test } = require('node:test');

const {
    configText, freePorts, pidAlive, refused, request, run, sleep, startDaemon,
    tempDir, waitFor,
} = require('./lib/daemon');

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

/* Open a plain TCP connection that sends nothing. */
function connectIdle(port, sockets) {
    return new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port });
        sockets.push(s);
        s.serverClosed = false;
        s.on('error', (e) => { s.lastError = e; });
        s.on('end', () => { s.serverClosed = true; });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
    });
}

function sumWorkers(stats, counter) {
    return stats.workers.reduce((a, w) => a + w.counters[counter], 0);
}

function running(stats) {
    return stats.workers.filter((w) => w.state === 'running');
}

function slotPids(stats) {
    return Object.fromEntries(running(stats).map((w) => [w.slot, w.pid]));
}

function assertJson404(r, what) {
    assert.equal(r.status, 404, `${what}: status (body ${r.body})`);
    assert.match(r.headers['content-type'] || '', /^application\/json/,
        `${what}: content-type`);
    assert.ok(r.json, `${what}: body is not JSON: ${r.body}`);
    assert.equal(r.json.ok, false, `${what}: ok`);
    assert.equal(typeof r.json.error?.code, 'string', `${what}: error.code`);
    assert.ok(r.json.error.code.length > 0, `${what}: error.code empty`);
}

/* ---------------------------------------------------------------------- */

test('200 idle client connections are counted per worker, spread over '
    + 'workers, and return to 0 when closed', async (t) => {
    const d = await startDaemon(t, { config: { workers: 4,
        handshake_timeout: '60s' } });
    const before = await d.stats();
    assert.equal(running(before).length, 4);
    assert.equal(before.totals.conn_open, 0);
    assert.equal(before.totals.conn_accepted, 0);

    const sockets = [];
    t.after(() => sockets.forEach((s) => s.destroy()));
    await within(Promise.all(Array.from({ length: 200 },
        () => connectIdle(d.port, sockets))), 10000, '200 connects');

    const s = await waitFor(async () => {
        const st = await d.stats();
        return st.totals.conn_open === 200
            && sumWorkers(st, 'conn_open') === 200 ? st : null;
    }, 5000, 'totals.conn_open = 200 = sum of per-worker conn_open');
    assert.equal(s.totals.conn_accepted, 200);
    assert.equal(sumWorkers(s, 'conn_accepted'), 200);
    const busy = s.workers.filter((w) => w.counters.conn_open > 0);
    assert.ok(busy.length > 1, 'connections landed on one worker only: '
        + JSON.stringify(s.workers.map((w) => [w.slot,
            w.counters.conn_open])));
    const status = await d.admin('/socket-status');
    assert.equal(status.status, 200);
    assert.equal(status.json.connections, 200);
    assert.equal(sockets.filter((x) => x.serverClosed).length, 0,
        'server closed idle connections before handshake_timeout');

    sockets.forEach((x) => x.destroy());
    const after = await waitFor(async () => {
        const st = await d.stats();
        return st.totals.conn_open === 0
            && st.workers.every((w) => w.counters.conn_open === 0) ? st : null;
    }, 5000, 'conn_open back to 0');
    assert.equal(after.totals.conn_accepted, 200);
    assert.equal(after.totals.handshake_timeouts, 0);
    assert.equal(await d.stop(), 0);
});

test('kill -9 of a worker: same slot gets a new pid within 2 s and clients '
    + 'keep connecting', async (t) => {
    const d = await startDaemon(t, { config: { workers: 2 } });
    const s0 = await d.stats();
    const victim = s0.workers.find((w) => w.slot === 0 && w.state
        === 'running');
    assert.ok(victim, 'no running worker in slot 0');
    const other = slotPids(s0)[1];

    let killedAt = 0, respawn = null, respawnAtReq = 0;
    const failures = [];
    let ok = 0, i = 0;
    const loopDeadline = Date.now() + 8000;
    /* Sequential GETs, each on a new connection; the kill happens between
     * two of them, so no request is in flight inside the dying worker. */
    for (; i < 400 && Date.now() < loopDeadline; i++) {
        if (i === 20) {
            process.kill(victim.pid, 'SIGKILL');
            killedAt = Date.now();
            waitFor(async () => {
                const st = await d.stats();
                const w = running(st).find((x) => x.slot === 0);
                return w && w.pid !== victim.pid ? w : null;
            }, 2000, 'a new pid in slot 0', 20).then((w) => {
                respawn = { pid: w.pid, ms: Date.now() - killedAt };
                respawnAtReq = i;
            }, (e) => { respawn = { error: e }; });
        }
        try {
            const r = await d.public(`/probe/${i}`, { timeoutMs: 3000 });
            assertJson404(r, `request ${i}`);
            assert.equal(r.json.error.code, 'NOT_FOUND');
            ok++;
        } catch (e) {
            failures.push(`request ${i}: ${e.message}`);
        }
        if (respawn && (respawn.error || i >= respawnAtReq + 40))
            break;
    }
    t.diagnostic(`${ok} requests, kill before request 20, new pid after `
        + `${respawn && respawn.ms} ms (by request ${respawnAtReq})`);
    assert.deepEqual(failures, [], 'client requests failed around the kill');
    assert.ok(respawn, `no respawn seen after ${i} requests`);
    assert.ifError(respawn.error);
    assert.ok(respawn.ms <= 2000, `respawn took ${respawn.ms} ms`);
    assert.ok(i >= respawnAtReq + 40, 'loop ended before 40 requests after '
        + 'the respawn');

    const s1 = await d.stats();
    assert.deepEqual(slotPids(s1), { 0: respawn.pid, 1: other });
    assert.equal(pidAlive(victim.pid), false);
    assert.equal(s1.totals.worker_respawns, 1);
    assert.equal(s1.totals.worker_signaled, 1);
    assert.equal(s1.totals.worker_exits, 0);
    assert.equal(s1.totals.worker_starts, 3);
    assert.equal(s1.totals.worker_watchdog_kills, 0);
    /* The respawned worker serves clients (counters lag up to 100 ms). */
    await waitFor(async () => {
        const st = await d.stats();
        const nw = st.workers.find((w) => w.pid === respawn.pid);
        return nw && nw.counters.http_requests > 0;
    }, 2000, 'the respawned worker to have answered some of the 40 later '
        + 'requests');
    assert.equal((await d.admin('/readyz')).status, 200);
    assert.equal(await d.stop(), 0);
});

test('kill -STOP of a worker: the heartbeat watchdog kills and replaces it',
    async (t) => {
    const d = await startDaemon(t, { config: { workers: 2,
        worker_heartbeat_timeout: '1500ms' } });
    const s0 = await d.stats();
    const victim = slotPids(s0)[0];
    const other = slotPids(s0)[1];
    assert.ok(victim);
    t.after(() => {
        if (pidAlive(victim))
            process.kill(victim, 'SIGKILL');
    });
    process.kill(victim, 'SIGSTOP');
    const stoppedAt = Date.now();
    const w = await waitFor(async () => {
        const st = await d.stats();
        const x = running(st).find((y) => y.slot === 0);
        return x && x.pid !== victim ? x : null;
    }, 6000, 'the watchdog to replace the stopped worker');
    const elapsed = Date.now() - stoppedAt;
    assert.ok(elapsed >= 1300, `replaced after ${elapsed} ms, before the `
        + '1500 ms heartbeat timeout');
    await waitFor(() => !pidAlive(victim), 2000, 'stopped worker to die');

    const s1 = await waitFor(async () => {
        const st = await d.stats();
        return st.totals.worker_respawns === 1 ? st : null;
    }, 2000, 'worker_respawns = 1');
    assert.deepEqual(slotPids(s1), { 0: w.pid, 1: other });
    assert.equal(s1.totals.worker_watchdog_kills, 1);
    assert.equal(s1.totals.worker_signaled, 1);
    assert.equal(s1.totals.worker_starts, 3);
    assert.match(d.log(), new RegExp(`watchdog: worker w0 pid ${victim} `));
    await waitFor(async () => (await d.admin('/readyz')).status === 200,
        3000, 'readyz 200 after the respawn');
    assertJson404(await d.public('/after-watchdog'), 'public after respawn');
    assert.equal(await d.stop(), 0);
});

test('HUP with workers 2 -> 3 starts a new generation; a broken config '
    + 'keeps the running workers', async (t) => {
    const d = await startDaemon(t, { config: { workers: 2 } });
    const s0 = await d.stats();
    assert.equal(s0.generation, 0);
    const old = Object.values(slotPids(s0));
    assert.equal(old.length, 2);

    d.writeConfig({ workers: 3 });
    d.signal('SIGHUP');
    const s1 = await waitFor(async () => {
        const st = await d.stats();
        const run3 = running(st).filter((w) => w.generation === 1);
        const slots = run3.map((w) => w.slot).sort();
        const oldListed = st.workers.some((w) => old.includes(w.pid));
        return run3.length === 3 && slots.join() === '0,1,2' && !oldListed
            && old.every((p) => !pidAlive(p)) ? st : null;
    }, 8000, '3 running workers of generation 1 and the old ones gone');
    assert.equal(s1.generation, 1);
    assert.equal(s1.slots, 3);
    assert.equal(s1.workers.length, 3);
    assert.equal(s1.totals.reloads, 1);
    assert.equal(s1.totals.reload_failures, 0);
    assert.equal(s1.totals.worker_starts, 5);
    assert.equal((await d.admin('/readyz')).status, 200);
    const st = await d.admin('/socket-status');
    assert.equal(st.json.workers, 3);
    for (let i = 0; i < 10; i++)
        assertJson404(await d.public(`/after-reload/${i}`), 'after reload');
    const pids1 = slotPids(s1);

    /* Broken: bad value on line 5. Nothing may change but the counter. */
    const broken = configText(d.settings({ workers: 3 }))
        .replace('workers = 3', 'workers = lots');
    d.writeConfig(undefined, broken);
    d.signal('SIGHUP');
    const s2 = await waitFor(async () => {
        const x = await d.stats();
        return x.totals.reload_failures === 1 ? x : null;
    }, 5000, 'reload_failures = 1');
    await sleep(300);
    const s3 = await d.stats();
    for (const s of [s2, s3]) {
        assert.deepEqual(slotPids(s), pids1);
        assert.equal(s.generation, 1);
        assert.equal(s.totals.reloads, 1);
        assert.equal(s.workers.length, 3);
    }
    assert.equal(s3.totals.reload_failures, 1);
    assert.ok(Object.values(pids1).every(pidAlive));
    assert.match(d.log(), /reload refused/);
    assert.match(d.log(), /workers/);
    assert.equal((await d.admin('/readyz')).status, 200);
    assert.equal(await d.stop(), 0);
});

test('bad configuration exits 2 naming file:line and key; -t checks a '
    + 'good one', async (t) => {
    const dir = tempDir(t);
    const [port, adminPort] = await freePorts(2);
    const base = `bind = 127.0.0.1\nadmin_listen = 127.0.0.1:${adminPort}\n`;

    await t.test('unknown key on line 3', async () => {
        const f = path.join(dir, 'unknown.conf');
        fs.writeFileSync(f, `# test\n${base.split('\n')[0]}\n`
            + `frobnicate_level = 3\nport = ${port}\n`);
        const r = await run(['-c', f], { t });
        assert.equal(r.code, 2, `stderr: ${r.stderr}`);
        assert.ok(r.stderr.includes(`${f}:3`), r.stderr);
        assert.ok(r.stderr.includes('frobnicate_level'), r.stderr);
        assert.equal(await refused(port), true);
    });

    await t.test('bad value (workers = lots) on line 4', async () => {
        const f = path.join(dir, 'badvalue.conf');
        fs.writeFileSync(f, `${base}port = ${port}\nworkers = lots\n`);
        const r = await run(['-c', f], { t });
        assert.equal(r.code, 2, `stderr: ${r.stderr}`);
        assert.ok(r.stderr.includes(`${f}:4`), r.stderr);
        assert.ok(r.stderr.includes('workers'), r.stderr);
        assert.equal(await refused(port), true);
        assert.equal(await refused(adminPort), true);
    });

    await t.test('missing or unreadable file', async () => {
        const missing = path.join(dir, 'does-not-exist.conf');
        let r = await run(['-c', missing], { t });
        assert.equal(r.code, 2, `stderr: ${r.stderr}`);
        assert.ok(r.stderr.includes(missing), r.stderr);
        /* A directory cannot be read as a file (works even as root). */
        const sub = path.join(dir, 'a-directory.conf');
        fs.mkdirSync(sub);
        r = await run(['-c', sub], { t });
        assert.equal(r.code, 2, `stderr: ${r.stderr}`);
        assert.ok(r.stderr.includes(sub), r.stderr);
        if (process.getuid && process.getuid() !== 0) {
            const f = path.join(dir, 'noperm.conf');
            fs.writeFileSync(f, `${base}port = ${port}\n`);
            fs.chmodSync(f, 0);
            r = await run(['-c', f], { t });
            assert.equal(r.code, 2, `stderr: ${r.stderr}`);
            assert.ok(r.stderr.includes(f), r.stderr);
        }
    });

    await t.test('-t on a good file exits 0 and leaves nothing listening',
        async () => {
        const f = path.join(dir, 'good.conf');
        fs.writeFileSync(f, `${base}port = ${port}\nworkers = 3\n`);
        const r = await run(['-t', '-c', f], { t });
        assert.equal(r.code, 0, `stderr: ${r.stderr}`);
        assert.ok(r.stdout.includes(f), r.stdout);
        assert.ok(r.stdout.includes(`127.0.0.1:${port}`), r.stdout);
        assert.match(r.stdout, /\b3 workers\b/);
        assert.equal(await refused(port), true);
        assert.equal(await refused(adminPort), true);
    });
});

test('port precedence: flag > WSGATE_PORT > PORT > file', async (t) => {
    const dir = tempDir(t);
    const [A, B, C, D, adm] = await freePorts(5);
    const f = path.join(dir, 'prec.conf');
    fs.writeFileSync(f, `bind = 127.0.0.1\nport = ${A}\n`
        + `admin_listen = 127.0.0.1:${adm}\nworkers = 1\n`);
    const portOf = async (args, env) => {
        const r = await run(['-t', '-c', f, ...args], { env, t });
        assert.equal(r.code, 0, `stderr: ${r.stderr}`);
        const m = /public 127\.0\.0\.1:(\d+)/.exec(r.stdout);
        assert.ok(m, `no public address in -t output: ${r.stdout}`);
        return Number(m[1]);
    };
    assert.equal(await portOf([], {}), A);
    assert.equal(await portOf([], { PORT: String(D) }), D);
    assert.equal(await portOf([], { WSGATE_PORT: String(B) }), B);
    assert.equal(await portOf([], { WSGATE_PORT: String(B),
        PORT: String(D) }), B);
    assert.equal(await portOf(['-p', String(C)], { WSGATE_PORT: String(B),
        PORT: String(D) }), C);

    /* And for real: file A, env B, flag C listens on C only. */
    const d = await startDaemon(t, { args: ['-p', String(C)], ports: [A, adm],
        env: { WSGATE_PORT: String(B) }, config: { workers: 1 } });
    assert.equal(d.port, A);
    assert.equal(await refused(d.port), true, `file port ${d.port} open`);
    assert.equal(await refused(B), true, `WSGATE_PORT ${B} open`);
    const ok = await request(C, '/socket-status');
    assert.equal(ok.status, 200);
    assert.equal(ok.json.status, 'ok');
    assert.equal(await d.stop(), 0);
});

test('an unknown WSGATE_ variable is a warning, not fatal (#12 item 7)',
    async (t) => {
    const dir = tempDir(t);
    const [A, adm] = await freePorts(2);
    const f = path.join(dir, 'env.conf');
    fs.writeFileSync(f, `bind = 127.0.0.1\nport = ${A}\n`
        + `admin_listen = 127.0.0.1:${adm}\nworkers = 1\n`);
    const r = await run(['-t', '-c', f], { env: { WSGATE_TOKEN: 'secret',
        WSGATE_DEPLOY_ID: '7' }, t });
    assert.equal(r.code, 0, `stderr: ${r.stderr}`);
    assert.match(r.stdout, /ignored environment variables that name no key: /);
    assert.match(r.stdout, /WSGATE_TOKEN/);
    assert.match(r.stdout, /WSGATE_DEPLOY_ID/);
    assert.doesNotMatch(r.stdout + r.stderr, /secret/, 'values are not echoed');
    /* A bad value of a known key is still an error. */
    const bad = await run(['-t', '-c', f], { env: { WSGATE_WORKERS: 'many' },
        t });
    assert.equal(bad.code, 2);
    /* And the daemon starts next to them, with the warning in its log. */
    const d = await startDaemon(t, { env: { WSGATE_TOKEN: 'secret' },
        config: { workers: 1 } });
    assert.match(d.log(), /\[warn\].*name no key, ignored: WSGATE_TOKEN/);
    assert.equal(await d.stop(), 0);
});

test('/metrics passes promtool check metrics', async (t) => {
    const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool']
        .find((p) => fs.existsSync(p));
    if (!promtool) {
        t.skip('promtool not installed (Debian package "prometheus"); CI '
            + 'installs it');
        return;
    }
    const d = await startDaemon(t, { config: { workers: 2 } });
    for (let i = 0; i < 5; i++)
        assertJson404(await d.public(`/m/${i}`), 'public');
    await waitFor(async () => (await d.stats()).totals.http_requests === 5,
        3000, 'http_requests = 5');
    const r = await d.admin('/metrics', { auth: true });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    assert.match(r.body, /^wsgate_http_requests_total 5$/m);
    assert.match(r.body, /^wsgate_conn_accepted_total 5$/m);
    assert.match(r.body, /^wsgate_worker_starts_total 2$/m);
    const p = spawnSync(promtool, ['check', 'metrics'], { input: r.body,
        encoding: 'utf8', timeout: 10000 });
    assert.equal(p.error, undefined);
    assert.equal(p.status, 0, `promtool: ${p.stdout}${p.stderr}`);
    assert.equal((p.stdout + p.stderr).trim(), '',
        'promtool reported problems');
    assert.equal(await d.stop(), 0);
});

test('admin auth: 401 JSON without or with a wrong key, 200 with it; open '
    + 'endpoints need none; unknown path 404', async (t) => {
    const d = await startDaemon(t, { config: { workers: 1 } });
    const wrong = 'not-the-key-SECRET-42';
    for (const p of ['/socket-stats', '/metrics']) {
        for (const auth of [false, wrong]) {
            const r = await d.admin(p, { auth });
            const what = `${p} ${auth ? 'wrong key' : 'no key'}`;
            assert.equal(r.status, 401, what);
            assert.match(r.headers['content-type'], /^application\/json/);
            assert.ok(r.json, `${what}: not JSON: ${r.body}`);
            assert.equal(r.json.ok, false, what);
            assert.equal(typeof r.json.error.code, 'string', what);
            assert.ok(r.json.error.code.length > 0, what);
            assert.equal(typeof r.json.error.message, 'string', what);
            assert.ok(!r.body.includes(wrong), `${what}: key echoed`);
            assert.ok(!r.body.includes(d.apiKey), `${what}: key leaked`);
        }
        const r = await d.admin(p, { auth: true });
        assert.equal(r.status, 200, `${p} with key`);
    }
    for (const p of ['/socket-status', '/healthz', '/readyz']) {
        const r = await d.admin(p);
        assert.equal(r.status, 200, p);
        assert.ok(r.json, `${p}: not JSON: ${r.body}`);
    }
    assert.equal((await d.admin('/socket-status')).json.status, 'ok');
    const nf = await d.admin('/no-such-endpoint', { auth: true });
    assertJson404(nf, 'unknown admin path');
    const s = await d.stats();
    assert.equal(s.totals.admin_unauthorized, 4);
    assert.equal(await d.stop(), 0);
});

test('-s stop stops a -d daemon and removes its pidfile; -s reload reloads',
    async (t) => {
    const d = await startDaemon(t, { daemonize: true, config: { workers: 2 },
        args: (x) => ['-d', '--pid', x.pidPath] });
    assert.notEqual(d.pid, d.child.pid, 'master did not detach');
    assert.ok(pidAlive(d.pid));
    const s0 = await d.stats();
    assert.equal(s0.totals.reloads, 0);

    let r = await run(['-s', 'reload', '--pid', d.pidPath, '-c', d.confPath],
        { t });
    assert.equal(r.code, 0, `-s reload: ${r.stderr}`);
    await waitFor(async () => {
        const st = await d.stats();
        return st.totals.reloads === 1 && running(st).length === 2
            && running(st).every((w) => w.generation === 1);
    }, 5000, 'reloads = 1 and generation 1 running');
    await waitFor(async () => (await d.admin('/readyz')).status === 200,
        5000, 'readyz after -s reload');

    const master = d.pid;
    r = await run(['-s', 'stop', '--pid', d.pidPath, '-c', d.confPath],
        { t, timeoutMs: 20000 });
    d.stopped = true;
    assert.equal(r.code, 0, `-s stop: ${r.stderr}`);
    assert.equal(pidAlive(master), false, 'master still running');
    assert.equal(fs.existsSync(d.pidPath), false, 'pidfile left behind');
    assert.equal(await refused(d.port), true, 'public port still open');
    assert.equal(await refused(d.adminPort), true, 'admin port still open');
    await waitFor(() => [...d.seenPids].every((p) => !pidAlive(p)), 5000,
        'workers gone');
    assert.match(d.log(), /stopped/);
    d.checkLog();
});

test('handshake_timeout closes silent and partial connections and counts '
    + 'them', async (t) => {
    const d = await startDaemon(t, { config: { workers: 1,
        handshake_timeout: '500ms' } });
    const sockets = [];
    t.after(() => sockets.forEach((s) => s.destroy()));
    const closedAfter = async (feed) => {
        const s = await connectIdle(d.port, sockets);
        const t0 = Date.now();
        const closed = new Promise((resolve) => s.once('close', resolve));
        let timer;
        if (feed)
            timer = feed(s);
        await within(closed, 3000, 'server closing the connection');
        clearInterval(timer);
        return Date.now() - t0;
    };

    let ms = await closedAfter(null);
    assert.ok(ms >= 400, `closed after ${ms} ms, before the timeout`);
    await waitFor(async () => (await d.stats()).totals.handshake_timeouts
        === 1, 2000, 'handshake_timeouts = 1');

    ms = await closedAfter((s) => {
        s.write('GET /socket-status HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    });
    assert.ok(ms >= 400, `partial head closed after ${ms} ms`);
    await waitFor(async () => (await d.stats()).totals.handshake_timeouts
        === 2, 2000, 'handshake_timeouts = 2');

    /* A head trickled one byte at a time is bounded too. */
    ms = await closedAfter((s) => {
        s.write('GET / HTTP/1.1\r\nX-Slow: ');
        return setInterval(() => {
            if (!s.destroyed)
                s.write('a');
        }, 100);
    });
    assert.ok(ms >= 400, `trickled head closed after ${ms} ms`);
    const st = await waitFor(async () => {
        const x = await d.stats();
        return x.totals.handshake_timeouts === 3
            && x.totals.conn_open === 0 ? x : null;
    }, 2000, 'handshake_timeouts = 3, conn_open = 0');
    assert.equal(st.totals.conn_accepted, 3);
    assert.equal(st.totals.http_requests, 0);
    assert.equal(await d.stop(), 0);
});

test('-h and -V print and exit 0', async (t) => {
    const h = await run(['-h'], { t });
    assert.equal(h.code, 0);
    assert.match(h.stdout, /^usage: wsgate/);
    for (const f of ['-c FILE', '-t', '-p PORT', '-a HOST:PORT', '-w N', '-d',
        '--pid FILE', '-l LEVEL', '-s SIGNAL', '-V', '-h'])
        assert.ok(h.stdout.includes(`  ${f} `), `-h lacks ${f}`);
    assert.equal(h.stderr, '');
    const v = await run(['-V'], { t });
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^wsgate \d+\.\d+\.\d+\S*\n$/);
    assert.equal(v.stderr, '');
});
