#!/bin/sh
# bench/tls-fanout.sh: fan-out deliveries/s over TLS versus plain in the
# same run (issue 13). Starts one wsgate (2 workers, port and tls_port,
# a throw-away CA and server certificate made with the openssl command) in
# a temporary directory, then runs bench/wsbench's fanout scenario REPS
# times alternating plain (ws://) and TLS (wss://, --tls-ca) against it,
# printing one line per run and the medians. Stops the server by its PID.
#
#   bench/tls-fanout.sh [REPS=3] [WINDOW_S=3] [CONNS=1000]
#   WSGATE_BIN (default ./wsgate), WSBENCH_BIN (default bench/wsbench)
cd "$(dirname "$0")/.." || exit 2
REPS=${1:-3}
WIN=${2:-3}
N=${3:-1000}
BIN=${WSGATE_BIN:-./wsgate}
WSB=${WSBENCH_BIN:-bench/wsbench}
[ -x "$BIN" ] && [ -x "$WSB" ] || { echo "need $BIN and $WSB" >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-tlsfan.XXXXXX") || exit 2
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

(cd "$TMP" && openssl req -x509 -newkey ec -pkeyopt \
    ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 1 \
    -subj /CN=bench-ca && openssl req -newkey ec -pkeyopt \
    ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr \
    -subj /CN=localhost && printf 'subjectAltName=IP:127.0.0.1\n' >ext \
    && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key \
    -CAcreateserial -out srv.pem -days 1 -extfile ext) >/dev/null 2>&1 \
    || { echo "openssl failed" >&2; exit 2; }

# Three free ports from the kernel (bound once, then released).
PORTS=$(python3 -c 'import socket
s=[socket.socket() for _ in range(3)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
set -- $PORTS
P=$1 T=$2 A=$3
KEY=bench-key-$$-$(date +%s)
SECRET=bench-secret-$$-$(date +%s)-0123456789
cat >"$TMP/w.conf" <<EOF
bind = 127.0.0.1
port = $P
tls_port = $T
admin_listen = 127.0.0.1:$A
workers = 2
tls_cert = $TMP/srv.pem
tls_key = $TMP/srv.key
log_file = $TMP/w.log
log_level = warn
api_key = $KEY
jwt_secret = $SECRET
room_rule = bench:* *
max_outbound_buffer = 1m
EOF
"$BIN" -c "$TMP/w.conf" &
PID=$!
i=0
until curl -sf "http://127.0.0.1:$A/readyz" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -gt 50 ] && { echo "wsgate did not start" >&2; exit 2; }
    sleep 0.2
done

echo "mode  run deliveries/s  connect/s  client_cpu_s  server_cpu_s  lost"
r=1
while [ $r -le "$REPS" ]; do
    for mode in plain tls; do
        if [ $mode = tls ]; then
            U="--url ws://127.0.0.1:$T/ws --tls-ca $TMP/ca.pem"
        else
            U="--url ws://127.0.0.1:$P/ws"
        fi
        # shellcheck disable=SC2086
        "$WSB" --proto ws --scenario fanout -n "$N" --warmup 1 \
            --duration "$WIN" $U --admin "127.0.0.1:$A" --api-key "$KEY" \
            --secret "$SECRET" --json 2>/dev/null | grep '^{' \
            | python3 -c 'import json,sys
j=json.loads(sys.stdin.read())
print("%-5s %3s %14d %10d %13.2f %13.2f %5d" % ("'$mode'", "'$r'",
    j["deliveries_per_s"], j["connect_rate"], j["client_cpu_s"],
    j["server_cpu_workers_s"], j["lost"]))' | tee -a "$TMP/runs"
    done
    r=$((r + 1))
done
for mode in plain tls; do
    grep "^$mode " "$TMP/runs" | awk '{print $3}' | sort -n \
        | awk -v m=$mode '{a[NR]=$1} END {printf "median %s deliveries/s: %d\n",
            m, a[int((NR+1)/2)]}'
done
