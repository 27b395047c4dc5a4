'use strict';
/*
 * Privilege drop (issue 12, item 6): with `user = nobody` the master
 * (root) binds its ports and every worker runs as nobody before it
 * serves anyone; clients are served; the log file is given to that user
 * so workers can reopen it; a reload keeps it so. An unknown user or a
 * group without a user is refused by -t with the key named, and a master
 * that is not root refuses to start with `user` set. Needs root (CI runs
 * as root); skipped otherwise.
 * Run: WSGATE_BIN=$PWD/wsgate node --test tests/integration/privilege.test.js
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { run, startDaemon, tempDir, waitFor } = require('./lib/daemon');
const { now, open, signJwt, tracker } = require('./lib/wsj');

const SECRET = 'itest-privilege-secret-19ab';
const ROOT = process.getuid && process.getuid() === 0;

/* Real and effective uid of a process, from /proc. */
function uids(pid) {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return st.match(/^Uid:\s+(\d+)\s+(\d+)/m).slice(1).map(Number);
}

test('workers run as the configured user; the master stays root',
    { skip: !ROOT && 'needs root' }, async (t) => {
    const d = await startDaemon(t, { config: { workers: 2,
        jwt_secret: SECRET, user: 'nobody' } });
    fs.chmodSync(d.dir, 0o777); /* sanitizer reports, the log's reopen */
    const nobody = Number(fs.readFileSync('/etc/passwd', 'utf8')
        .match(/^nobody:[^:]*:(\d+):/m)[1]);
    const workers = (await d.stats()).workers.filter((w) =>
        w.state === 'running').map((w) => w.pid);
    assert.equal(workers.length, 2);
    for (const pid of workers)
        assert.deepEqual(uids(pid), [nobody, nobody], `worker ${pid}`);
    assert.deepEqual(uids(d.pid), [0, 0], 'master');
    const c = await open(d.port, { token: signJwt({ sub: 'u1',
        rooms: ['lead:*'], exp: now() + 600 }, { secret: SECRET }),
    track: tracker(t) });
    assert.equal((await c.request({ type: 'subscribe', room: 'lead:1' }))
        .ok, true);
    c.close();
    assert.equal(fs.statSync(d.logPath).uid, nobody, 'log file owner');

    /* A rotated log is recreated by the master and given to nobody. */
    fs.renameSync(d.logPath, `${d.logPath}.1`);
    process.kill(d.pid, 'SIGUSR1');
    await waitFor(() => fs.existsSync(d.logPath)
        && fs.statSync(d.logPath).uid === nobody, 5000,
    'the new log file, owned by nobody');

    /* A reload runs the new workers as nobody too. */
    process.kill(d.pid, 'SIGHUP');
    await waitFor(async () => {
        const w = (await d.stats()).workers.filter((x) =>
            x.state === 'running').map((x) => x.pid);
        return w.length === 2 && w.every((p) => !workers.includes(p)) && w;
    }, 10000, 'a new generation');
    for (const w of (await d.stats()).workers)
        if (w.state === 'running')
            assert.deepEqual(uids(w.pid), [nobody, nobody]);
});

test('-t names a bad user or group', async (t) => {
    const dir = tempDir(t);
    const f = path.join(dir, 'wsgate.conf');
    for (const [conf, want] of [
        ['user = no-such-user-3f9\n', /key 'user': no user named 'no-such-user-3f9'/],
        ['group = nogroup\n', /key 'group' needs key 'user'/],
        ['user = nobody\ngroup = no-such-group-3f9\n',
            /key 'group': no group named 'no-such-group-3f9'/],
        ['user = root\n', /'root' is root/],
    ]) {
        fs.writeFileSync(f, conf);
        const r = await run(['-t', '-c', f], { t });
        assert.equal(r.code, 2, `${conf}: ${r.stderr}`);
        assert.match(r.stderr, want);
    }
    fs.writeFileSync(f, 'user = nobody\n');
    const ok = await run(['-t', '-c', f], { t });
    assert.equal(ok.code, 0, ok.stderr);
});
