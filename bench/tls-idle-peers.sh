#!/bin/sh
# bench/tls-idle-peers.sh: server RSS per idle TLS connection, wsgate beside
# Node socket.io 4.8 over https (bench/peers/node) and nginx + nchan with
# TLS terminating (bench/peers/nchan), in one run (issue 13).
# A throw-away CA and server certificate (openssl command) in a temporary
# directory; each server is started fresh, bench/wsbench holds N idle
# authenticated connections over wss (--tls-ca, verified) in 100 rooms for
# WINDOW s and reports the server's RSS growth per connection; the server
# is stopped by its PID. Rows: wsgate /ws plain (reference), wsgate /ws
# TLS, wsgate Socket.IO TLS, Node socket.io TLS, nginx + nchan TLS.
#
#   bench/tls-idle-peers.sh [N=5000] [WINDOW_S=3]
#   WSGATE_BIN (default ./wsgate), WSBENCH_BIN (default bench/wsbench);
#   Node's peer needs `npm ci` in bench/peers/node (bench/run does it).
cd "$(dirname "$0")/.." || exit 2
N=${1:-5000}
WIN=${2:-3}
BIN=${WSGATE_BIN:-./wsgate}
WSB=${WSBENCH_BIN:-bench/wsbench}
NODE_DIR=bench/peers/node
[ -x "$BIN" ] && [ -x "$WSB" ] || { echo "need $BIN and $WSB" >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-tlsidle.XXXXXX") || exit 2
PID=
stop() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && sleep 1
    PID=
}
trap 'stop; rm -rf "$TMP"' EXIT
trap 'exit 2' HUP INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null

(cd "$TMP" && openssl req -x509 -newkey ec -pkeyopt \
    ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 1 \
    -subj /CN=bench-ca && openssl req -newkey ec -pkeyopt \
    ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr \
    -subj /CN=localhost && printf 'subjectAltName=IP:127.0.0.1\n' >ext \
    && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key \
    -CAcreateserial -out srv.pem -days 1 -extfile ext) >/dev/null 2>&1 \
    || { echo "openssl failed" >&2; exit 2; }
KEY=bench-key-$$-$(date +%s)
SECRET=bench-secret-$$-$(date +%s)-0123456789

ports() {
    python3 -c 'import socket
s=[socket.socket() for _ in range(3)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))'
}

wait_ready() {
    i=0
    until curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "server on admin $1 did not start" >&2; return 1; }
        sleep 0.2
    done
}

# row NAME WSBENCH-ARGS...: one idle run, one line.
row() {
    name=$1
    shift
    "$WSB" --scenario idle -n "$N" --rooms 100 --no-publish \
        --duration "$WIN" --api-key "$KEY" --secret "$SECRET" --json "$@" \
        2>/dev/null | grep '^{' | python3 -c 'import json,sys
j=json.loads(sys.stdin.read())
print("%-22s %9d/%-6d %8.0f %12d" % ("'"$name"'", j["connected"], j["conns"],
    j["connect_rate"], j["server_rss_per_conn_b"]))'
}

echo "server                 connected      conn/s  B RSS/conn"
for kind in ws-plain ws-tls sio-tls; do
    set -- $(ports)
    P=$1 T=$2 A=$3
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
EOF
    "$BIN" -c "$TMP/w.conf" &
    PID=$!
    wait_ready "$A" || exit 2
    case $kind in
    ws-plain) row "wsgate /ws plain" --url "ws://127.0.0.1:$P/ws" \
        --admin "127.0.0.1:$A" ;;
    ws-tls) row "wsgate /ws TLS" --url "ws://127.0.0.1:$T/ws" \
        --tls-ca "$TMP/ca.pem" --admin "127.0.0.1:$A" ;;
    sio-tls) row "wsgate Socket.IO TLS" --proto sio \
        --url "ws://127.0.0.1:$T/socket.io/?EIO=4&transport=websocket" \
        --tls-ca "$TMP/ca.pem" --admin "127.0.0.1:$A" ;;
    esac
    stop
done

if [ -d "$NODE_DIR/node_modules/socket.io" ]; then
    set -- $(ports)
    P=$1 A=$3
    BENCH_SECRET=$SECRET BENCH_API_KEY=$KEY BENCH_TLS_CERT=$TMP/srv.pem \
        BENCH_TLS_KEY=$TMP/srv.key node "$NODE_DIR/server.js" "$P" "$A" \
        >"$TMP/node.log" 2>&1 &
    PID=$!
    wait_ready "$A" || exit 2
    row "node socket.io https" --proto sio \
        --url "ws://127.0.0.1:$P/socket.io/?EIO=4&transport=websocket" \
        --tls-ca "$TMP/ca.pem" --admin "127.0.0.1:$A" --server-pids "$PID"
    stop
else
    echo "node socket.io https   (skipped: npm ci in $NODE_DIR first)"
fi
NCHAN_MODULE=/usr/lib/nginx/modules/ngx_nchan_module.so
if command -v nginx >/dev/null 2>&1 && [ -f "$NCHAN_MODULE" ]; then
    set -- $(ports)
    P=$1 T=$2
    mkdir -p "$TMP/nginx"
    # bench/run's nchan peer, its subscriber listener on TLS and a plain
    # one for the readiness check.
    sed -e "s|@PREFIX@|$TMP/nginx|g" -e "s|@MODULE@|$NCHAN_MODULE|g" \
        -e "s|listen 127.0.0.1:@PORT@ backlog=4096;|listen 127.0.0.1:$T ssl backlog=4096; listen 127.0.0.1:$P; ssl_certificate $TMP/srv.pem; ssl_certificate_key $TMP/srv.key; ssl_protocols TLSv1.2 TLSv1.3;|" \
        bench/peers/nchan/nginx.conf.in >"$TMP/nginx/nginx.conf"
    nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" >"$TMP/nginx/out.log" 2>&1 &
    PID=$!
    i=0
    until curl -sf "http://127.0.0.1:$P/readyz" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -gt 50 ] && { echo "nginx did not start" >&2; exit 2; }
        sleep 0.2
    done
    sleep 0.5
    KIDS=$(pgrep -P "$PID" | paste -sd, -)
    row "nginx + nchan TLS" --proto nchan --url "ws://127.0.0.1:$T/sub/" \
        --tls-ca "$TMP/ca.pem" --admin "127.0.0.1:$P" \
        --server-pids "$PID${KIDS:+,$KIDS}"
    stop
else
    echo "nginx + nchan TLS      (skipped: nginx and libnginx-mod-nchan needed)"
fi
