#!/bin/bash
# bench/mem-idle.sh: bytes of userland memory per idle connection, by the
# allocator and by the mappings (BENCHMARKS.md, "Memory per idle connection
# after issue 18 item 2").
#
#   bench/mem-idle.sh [-b WSGATE] [-w WORKERS] [-n N] [-r ROOMS] PROTO
#
# PROTO: ws (authenticated /ws), sio (Socket.IO over WebSocket), both held
# by bench/wsbench --scenario idle; poll (Socket.IO on HTTP long-polling,
# held by bench/mem-poll.js with tests/integration's socket.io-client).
# Starts a fresh wsgate (-b, default ./build/wsgate) on free loopback ports
# with WORKERS workers (default 1), reads each worker's mallinfo2()
# (uordblks + hblkhd, with gdb) and the Anonymous lines of its smaps before
# the clients come and while N (default 10,000; poll: 2,000) are held, each
# in one room of ROOMS (default 100) and its user:<id> room, and prints the
# difference per connection. gdb stops a worker while it reads it, so the
# worker heartbeat timeout is raised to 60 s. Bounded: every wait has a
# count, the clients a timeout; the server is stopped by its PID.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/wsgate W=1 N= ROOMS=100
while getopts b:w:n:r: o; do
    case $o in
    b) BIN=$OPTARG ;; w) W=$OPTARG ;; n) N=$OPTARG ;; r) ROOMS=$OPTARG ;;
    *) sed -n 2,18p "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
PROTO=${1:-ws}
[ -n "$N" ] || { [ "$PROTO" = poll ] && N=2000 || N=10000; }
WSB=$ROOT/bench/wsbench
T=$(mktemp -d /tmp/wsgate-mem.XXXXXX)
ports=$("$WSB" --free-ports 2) || exit 2
port=$(echo "$ports" | sed -n 1p)
admin=$(echo "$ports" | sed -n 2p)
cat > "$T/w.conf" <<C
bind = 127.0.0.1
port = $port
admin_listen = 127.0.0.1:$admin
workers = $W
api_key = k
jwt_secret = s3cret
room_rule = bench:* *
log_level = warn
worker_heartbeat_timeout = 60s
C
"$BIN" -c "$T/w.conf" > "$T/log" 2>&1 &
MP=$!
for i in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$admin/readyz" > /dev/null && break
    sleep 0.1
done
WP=$(pgrep -P $MP | paste -sd' ')
heap() {
    local s=0 p v
    for p in $WP; do
        v=$(gdb -p "$p" -batch -ex 'p mallinfo2().uordblks + mallinfo2().hblkhd' \
            2> /dev/null | sed -n 's/^\$1 = //p')
        s=$((s + ${v:-0}))
    done
    echo $s
}
anon() {
    local s=0 p
    for p in $WP; do
        s=$((s + $(awk '/^Anonymous:/ {a += $2} END {print a}' /proc/$p/smaps)))
    done
    echo $s
}
h0=$(heap) a0=$(anon)
case $PROTO in
ws) URL=ws://127.0.0.1:$port/ws ;;
sio) URL="ws://127.0.0.1:$port/socket.io/?EIO=4&transport=websocket" ;;
esac
if [ "$PROTO" = poll ]; then
    timeout 600 node "$ROOT/bench/mem-poll.js" "$port" "$N" "$ROOMS" 30 \
        > "$T/cl.out" 2>&1 &
else
    timeout 600 "$WSB" --proto "$PROTO" --url "$URL" \
        --admin 127.0.0.1:$admin --api-key k --secret s3cret \
        --scenario idle --procs $(( (N + 17999) / 18000 )) -n "$N" \
        --rooms "$ROOMS" --timeout 60 --duration 30 > "$T/cl.out" 2>&1 &
fi
CP=$!
for i in $(seq 1 1200); do
    if [ "$PROTO" = poll ]; then
        grep -q '^ready' "$T/cl.out" && break
    else
        c=$(curl -sf -H 'Authorization: Bearer k' \
            "http://127.0.0.1:$admin/socket-stats" | python3 -c \
            'import sys, json; print(json.load(sys.stdin)["totals"]["clients"])' \
            2> /dev/null)
        [ "${c:-0}" -ge "$N" ] && break
    fi
    kill -0 $CP 2> /dev/null || break
    sleep 0.25
done
sleep 3
h1=$(heap) a1=$(anon)
echo "$PROTO n=$N workers=$W rooms=$ROOMS bin=$BIN:" \
    "heap $(( (h1 - h0) / N )) B/conn (mallinfo2 uordblks+hblkhd" \
    "$h0 -> $h1), anonymous RSS $(( (a1 - a0) * 1024 / N )) B/conn" \
    "($a0 -> $a1 kB)"
wait $CP
kill -TERM $MP
wait $MP
rc=$?
[ $rc = 0 ] || { echo "wsgate exited $rc; log:"; tail -5 "$T/log"; }
rm -rf "$T"
