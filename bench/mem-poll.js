// bench/mem-poll.js PORT N ROOMS HOLD_S (for bench/mem-idle.sh poll): hold N Socket.IO sessions on HTTP long-polling
// only (each authenticated, each in one room bench:<i mod ROOMS>), print
// "ready N" when all have joined, close them all after HOLD_S seconds.
const path = require('path');
const { io } = require(path.join(__dirname, '../tests/integration/node_modules/socket.io-client'));
const { signJwt } = require(path.join(__dirname, '../tests/integration/lib/sio.js'));
const [port, n, rooms, hold] = process.argv.slice(2).map(Number);
const socks = [];
let ready = 0;
const exp = Math.floor(Date.now() / 1000) + 3600;
async function one(i) {
    const s = io(`http://127.0.0.1:${port}`, { transports: ['polling'],
        auth: { token: signJwt({ sub: `poll${i}`, exp }, 's3cret') },
        reconnection: false, forceNew: true, timeout: 60000 });
    socks.push(s);
    await new Promise((res, rej) => { s.once('connect', res); s.once('connect_error', rej); });
    await new Promise((res) => s.emit('subscribe', `bench:${i % rooms}`, res));
    ready++;
}
(async () => {
    for (let i = 0; i < n; i += 100) {
        const b = [];
        for (let j = i; j < Math.min(n, i + 100); j++) b.push(one(j));
        await Promise.all(b);
    }
    console.log(`ready ${ready}`);
    setTimeout(() => { for (const s of socks) s.close(); process.exit(0); }, hold * 1000);
})().catch((e) => { console.error('poll.js:', e.message); process.exit(1); });
