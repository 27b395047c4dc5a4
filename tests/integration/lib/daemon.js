'use strict';
/*
 * Integration harness: runs the real wsgate binary on ephemeral loopback
 * ports with a generated configuration in a fresh temporary directory,
 * waits for /readyz, and offers small helpers to drive and observe it.
 *
 * Every process a test starts is registered with the test's `after` hook and
 * killed by PID if it is still there when the test ends, pass or fail. Every
 * wait is bounded.
 */
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const BIN = process.env.WSGATE_BIN
    ? path.resolve(process.env.WSGATE_BIN)
    : path.resolve(__dirname, '..', '..', '..', 'wsgate');

const API_KEY = 'itest-key-0123456789abcdef';

/* Log lines and sanitizer reports that fail a test (STYLE §6, §8). */
const BAD_LOG = [
    /\[(alert|crit|emerg)\]/,
    /"level"\s*:\s*"(alert|crit|emerg)"/,
    /ERROR: AddressSanitizer/,
    /LeakSanitizer/,
    /runtime error:/,
    /WARNING: ThreadSanitizer/,
];

function badLines(text) {
    return text.split('\n').filter((l) => BAD_LOG.some((re) => re.test(l)));
}

/* Sanitizer reports go to files in dir (a daemon's stderr may be
 * /dev/null), on top of whatever options the caller set. */
function sanitizerEnv(dir) {
    const add = (v) => (v ? `${v}:` : '') + `log_path=${dir}/sanitizer`;
    return {
        ASAN_OPTIONS: add(process.env.ASAN_OPTIONS),
        UBSAN_OPTIONS: add(process.env.UBSAN_OPTIONS),
        LSAN_OPTIONS: add(process.env.LSAN_OPTIONS),
    };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* p's value, or null if it does not settle within ms (the timer is cleared
 * either way, so it never holds the process open). */
function orNull(p, ms) {
    let timer;
    return Promise.race([p, new Promise((r) => {
        timer = setTimeout(() => r(null), ms);
    })]).finally(() => clearTimeout(timer));
}

/* The environment a child gets: ours without anything wsgate would read
 * (WSGATE_BIN itself would be an unknown key), plus the test's extras. */
function childEnv(extra = {}) {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (k.startsWith('WSGATE_') || k === 'PORT' || k === 'FRONTEND_URL'
            || k === 'JWT_SECRET')
            continue;
        env[k] = v;
    }
    return Object.assign(env, extra);
}

/* n distinct free loopback ports: bind port 0 on 127.0.0.1 (all at once so
 * they differ), then close. */
async function freePorts(n = 1) {
    const servers = [];
    try {
        for (let i = 0; i < n; i++) {
            const s = net.createServer();
            servers.push(s);
            await new Promise((resolve, reject) => {
                s.once('error', reject);
                s.listen(0, '127.0.0.1', resolve);
            });
        }
        return servers.map((s) => s.address().port);
    } finally {
        await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
}

async function freePort() {
    return (await freePorts(1))[0];
}

/* Poll fn (sync or async) until it returns a truthy value; resolve with it.
 * Throws after timeoutMs with `what` and the last value or error. */
async function waitFor(fn, timeoutMs = 5000, what = 'condition',
    intervalMs = 50) {
    const deadline = Date.now() + timeoutMs;
    let last, lastErr;
    for (;;) {
        try {
            last = await fn();
            lastErr = undefined;
            if (last)
                return last;
        } catch (e) {
            lastErr = e;
        }
        if (Date.now() >= deadline)
            break;
        await sleep(intervalMs);
    }
    const detail = lastErr ? `last error: ${lastErr.message}`
        : `last value: ${JSON.stringify(last)}`;
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} `
        + `(${detail})`);
}

/* One HTTP request on its own connection (no keep-alive pool). Resolves
 * {status, headers, body, json}; json is undefined if the body is not JSON. */
function request(port, urlPath, { method = 'GET', headers = {}, body,
    timeoutMs = 3000, host = '127.0.0.1' } = {}) {
    return new Promise((resolve, reject) => {
        const req = http.request({ host, port, path: urlPath, method,
            headers, agent: false }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                let json;
                try {
                    json = JSON.parse(text);
                } catch {
                    json = undefined;
                }
                resolve({ status: res.statusCode, headers: res.headers,
                    body: text, json });
            });
        });
        req.setTimeout(timeoutMs, () => req.destroy(
            new Error(`${method} ${urlPath} on port ${port}: no reply in `
                + `${timeoutMs} ms`)));
        req.on('error', reject);
        if (body !== undefined)
            req.write(body);
        req.end();
    });
}

/* Resolve true once nothing accepts on 127.0.0.1:port (ECONNREFUSED). */
function refused(port) {
    return new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.setTimeout(1000, () => { s.destroy(); resolve(false); });
        s.once('connect', () => { s.destroy(); resolve(false); });
        s.once('error', (e) => resolve(e.code === 'ECONNREFUSED'));
    });
}

/* Is a process with this pid alive (not a zombie)? */
function pidAlive(pid) {
    if (!pid)
        return false;
    try {
        process.kill(pid, 0);
    } catch (e) {
        return e.code === 'EPERM';
    }
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
        return state !== 'Z' && state !== 'X';
    } catch {
        return false;
    }
}

/* Is pid a wsgate process (guards kills in cleanup against pid reuse)? */
function isWsgate(pid) {
    try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmd.split('\0')[0] === BIN
            || path.basename(cmd.split('\0')[0]) === path.basename(BIN);
    } catch {
        return false;
    }
}

function killIfWsgate(pid, sig = 'SIGKILL') {
    if (pid && pidAlive(pid) && isWsgate(pid)) {
        try {
            process.kill(pid, sig);
        } catch {
            /* already gone */
        }
    }
}

/* Run the binary to completion (for -t, -h, -V, -s and bad configs).
 * Resolves {code, signal, stdout, stderr}; kills it after timeoutMs. */
function run(args, { env = {}, timeoutMs = 10000, t } = {}) {
    return new Promise((resolve, reject) => {
        const child = spawn(BIN, args, { env: childEnv(env),
            stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '', stderr = '';
        const timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`wsgate ${args.join(' ')}: still running after `
                + `${timeoutMs} ms`));
        }, timeoutMs);
        if (t)
            t.after(() => {
                if (child.exitCode === null && child.signalCode === null)
                    child.kill('SIGKILL');
            });
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        child.on('error', (e) => {
            clearTimeout(timer);
            reject(e);
        });
        /* 'exit', not 'close': a daemonized child may keep the pipes. */
        child.on('exit', (code, signal) => {
            clearTimeout(timer);
            /* Let buffered output arrive. */
            setImmediate(() => {
                const bad = badLines(stdout + '\n' + stderr);
                if (bad.length)
                    reject(new Error(`wsgate ${args.join(' ')}: sanitizer `
                        + `or alert output:\n${stderr}`));
                else
                    resolve({ code, signal, stdout, stderr });
            });
        });
    });
}

function configText(settings) {
    return Object.entries(settings)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
}

class Daemon {
    constructor(t, opts) {
        this.t = t;
        this.opts = opts;
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsgate-it-'));
        this.confPath = path.join(this.dir, 'wsgate.conf');
        this.logPath = path.join(this.dir, 'wsgate.log');
        this.pidPath = path.join(this.dir, 'wsgate.pid');
        this.apiKey = API_KEY;
        this.child = null;
        this.pid = 0;           /* master pid */
        this.seenPids = new Set();
        this.stderr = '';
        this.exit = null;       /* {code, signal} once the master exited */
        this.stopped = false;
    }

    /* The base settings plus the test's; `undefined` removes a key. */
    settings(extra = {}) {
        return Object.assign({
            bind: '127.0.0.1',
            port: this.port,
            admin_listen: `127.0.0.1:${this.adminPort}`,
            workers: 2,
            api_key: this.apiKey,
            log_file: this.logPath,
            log_level: 'info',
            shutdown_timeout: '3s',
        }, extra);
    }

    writeConfig(extra = this.opts.config, raw) {
        const text = raw !== undefined ? raw : configText(this.settings(extra));
        fs.writeFileSync(this.confPath, text);
        return this.confPath;
    }

    async start() {
        [this.port, this.adminPort] = this.opts.ports || await freePorts(2);
        this.writeConfig(this.opts.config || {});
        this.t.after(() => this.cleanup());
        const extra = typeof this.opts.args === 'function'
            ? this.opts.args(this) : this.opts.args || [];
        const args = ['-c', this.confPath, ...extra];
        this.child = spawn(BIN, args, { env: childEnv({
            ...sanitizerEnv(this.dir), ...this.opts.env }),
            stdio: ['ignore', 'pipe', 'pipe'] });
        this.child.stdout.on('data', (d) => { this.stderr += d; });
        this.child.stderr.on('data', (d) => { this.stderr += d; });
        this.exited = new Promise((resolve) => {
            this.child.on('exit', (code, signal) => {
                this.exit = { code, signal };
                resolve(this.exit);
            });
        });
        const spawnErr = new Promise((_, reject) =>
            this.child.on('error', reject));
        if (this.opts.daemonize) {
            /* The launcher exits 0 once the daemon is set up; the master's
             * pid comes from the pidfile. */
            const ex = await orNull(Promise.race([this.exited, spawnErr]),
                10000);
            assert.ok(ex, 'daemonizing wsgate did not return in 10 s');
            assert.deepEqual(ex, { code: 0, signal: null },
                `launcher exit; output: ${this.stderr}`);
            this.pid = await waitFor(() => {
                const s = fs.readFileSync(this.pidPath, 'utf8').trim();
                return /^\d+$/.test(s) ? Number(s) : 0;
            }, 5000, `pidfile ${this.pidPath}`);
        } else {
            this.pid = this.child.pid;
        }
        if (this.opts.waitReady !== false)
            await this.waitReady();
        return this;
    }

    async waitReady(timeoutMs = 10000) {
        await waitFor(async () => {
            if (this.opts.daemonize ? !pidAlive(this.pid) : this.exit)
                throw new Error(`wsgate exited early: ${JSON.stringify(
                    this.exit)}; output: ${this.stderr}; log: ${this.log()}`);
            const r = await this.admin('/readyz', { timeoutMs: 1000 });
            return r.status === 200;
        }, timeoutMs, '/readyz 200');
        await this.stats(); /* records worker pids for cleanup */
    }

    /* Admin request; auth: true sends the key, a string sends that key. */
    admin(urlPath, { auth = false, headers = {}, ...rest } = {}) {
        const h = { ...headers };
        if (auth)
            h.Authorization = `Bearer ${auth === true ? this.apiKey : auth}`;
        return request(this.adminPort, urlPath, { headers: h, ...rest });
    }

    public(urlPath, opts) {
        return request(this.port, urlPath, opts);
    }

    async stats() {
        const r = await this.admin('/socket-stats', { auth: true });
        assert.equal(r.status, 200, `/socket-stats: ${r.body}`);
        assert.ok(r.json, `/socket-stats is not JSON: ${r.body}`);
        for (const w of r.json.workers || [])
            if (w.pid)
                this.seenPids.add(w.pid);
        return r.json;
    }

    /* Workers of /socket-stats by slot (running ones unless all=true). */
    static bySlot(stats, state = 'running') {
        const m = new Map();
        for (const w of stats.workers)
            if (!state || w.state === state)
                m.set(w.slot, w);
        return m;
    }

    signal(sig) {
        process.kill(this.pid, sig);
    }

    log() {
        try {
            return fs.readFileSync(this.logPath, 'utf8');
        } catch {
            return '';
        }
    }

    /* Assert no alert/crit/emerg line and no sanitizer report in the log
     * or on the master's stderr. */
    checkLog() {
        const bad = badLines(this.log() + '\n' + this.stderr);
        assert.deepEqual(bad, [], 'log has alert/crit/emerg or sanitizer '
            + 'lines');
        const reports = fs.readdirSync(this.dir)
            .filter((f) => f.startsWith('sanitizer'))
            .map((f) => fs.readFileSync(path.join(this.dir, f), 'utf8'));
        assert.deepEqual(reports, [], 'sanitizer reports were written');
    }

    /* Graceful stop: SIGTERM to the master, wait (bounded) for it to exit,
     * assert exit 0 and a clean log. Resolves with the exit code. */
    async stop(timeoutMs = 15000) {
        this.stopped = true;
        let code;
        if (this.opts.daemonize) {
            this.signal('SIGTERM');
            await waitFor(() => !pidAlive(this.pid), timeoutMs,
                `master ${this.pid} to exit`);
            code = 0; /* not our child: its exit status is not visible */
        } else {
            if (!this.exit)
                this.signal('SIGTERM');
            const ex = await orNull(this.exited, timeoutMs);
            assert.ok(ex, `wsgate did not exit within ${timeoutMs} ms of `
                + 'SIGTERM');
            assert.deepEqual(ex, { code: 0, signal: null },
                `wsgate exit; log:\n${this.log()}`);
            code = ex.code;
        }
        /* Its workers must be gone too. */
        await waitFor(() => [...this.seenPids].every((p) => !pidAlive(p)),
            5000, 'workers to exit after the master');
        assert.equal(await refused(this.port), true,
            `public port ${this.port} still accepts after the stop`);
        assert.equal(await refused(this.adminPort), true,
            `admin port ${this.adminPort} still accepts after the stop`);
        this.checkLog();
        return code;
    }

    /* after hook: kill by PID whatever is still running, remove the dir. */
    async cleanup() {
        const pids = [this.pid, ...this.seenPids];
        if (this.child && this.child.exitCode === null
            && this.child.signalCode === null)
            this.child.kill('SIGKILL');
        for (const p of pids)
            killIfWsgate(p, 'SIGKILL');
        if (this.opts.keepDir !== true && !process.env.WSGATE_KEEP_TMP)
            fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/* Start a daemon for test context t. opts: config (extra keys), args (an
 * array, or a function of the Daemon returning one), env, ports ([public,
 * admin]; default fresh ones), daemonize (the args daemonize it with the
 * pidfile d.pidPath), waitReady (default true). */
async function startDaemon(t, opts = {}) {
    const d = new Daemon(t, opts);
    await d.start();
    return d;
}

/* A temp dir removed after the test. */
function tempDir(t) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsgate-it-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
}

module.exports = {
    API_KEY,
    BIN,
    Daemon,
    configText,
    freePort,
    freePorts,
    isWsgate,
    killIfWsgate,
    orNull,
    pidAlive,
    refused,
    request,
    run,
    sleep,
    startDaemon,
    tempDir,
    waitFor,
};
