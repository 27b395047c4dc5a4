'use strict';
/*
 * A private redis-server for cluster tests (Debian's binary, started on a
 * free loopback port with no persistence, killed by PID when the test
 * ends, never the system service) and wsgate nodes joined to it.
 */
const { spawn } = require('node:child_process');
const net = require('node:net');

const { pidAlive, startDaemon, waitFor } = require('./daemon');
const { totals } = require('./wsj');

/* One PING on a fresh connection: resolves true on +PONG. */
function redisPing(port) {
    return new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        let got = '';
        s.setTimeout(500, () => { s.destroy(); resolve(false); });
        s.on('connect', () => s.write('PING\r\n'));
        s.on('data', (d) => {
            got += d;
            if (got.includes('\r\n')) {
                s.destroy();
                resolve(got.startsWith('+PONG'));
            }
        });
        s.on('error', () => resolve(false));
    });
}

/* A redis-server of our own on 127.0.0.1:port, no persistence. Killed by
 * PID when test t ends. Returns {pid, port, kill()}. */
async function startRedis(t, port) {
    const child = spawn('redis-server', ['--save', '', '--appendonly', 'no',
        '--port', String(port), '--bind', '127.0.0.1'],
        { stdio: ['ignore', 'ignore', 'ignore'] });
    const exited = new Promise((r) => child.on('exit', r));
    t.after(() => {
        if (pidAlive(child.pid))
            child.kill('SIGKILL');
    });
    await waitFor(() => redisPing(port), 5000, `redis-server on ${port}`);
    return {
        pid: child.pid,
        port,
        async kill() {
            child.kill('SIGKILL');
            await exited;
        },
    };
}

/* A wsgate node (2 workers) named `name` on the Redis at redisPort, with
 * JWT secret `secret`; extra config keys override the defaults. */
async function startNode(t, redisPort, name, secret, extra = {}) {
    return startDaemon(t, { config: {
        workers: 2, jwt_secret: secret, room_rule: 'r* *',
        redis_url: `redis://127.0.0.1:${redisPort}`, node_name: name,
        redis_connect_timeout: '500ms', redis_command_timeout: '3s',
        shutdown_timeout: '2s', ...extra,
    } });
}

/* Until node d's redis_up counter is `want`. */
async function redisUp(d, want = 1) {
    await waitFor(async () => (await totals(d)).redis_up === want, 5000,
        `node on ${d.adminPort}: redis_up ${want}`);
}

module.exports = { redisPing, redisUp, startNode, startRedis };
