#!/bin/sh
# Printed by `make run` before the gateway starts: where it listens, a
# ready-to-use token and one-line clients for the default configuration.
conf=${1:-etc/wsgate.conf}
val() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$conf" | tail -n 1; }
bind=$(val bind); port=$(val port); admin=$(val admin_listen); key=$(val api_key)
[ -n "$bind" ] || bind=0.0.0.0
[ -n "$port" ] || port=3001
[ -n "$admin" ] || admin=127.0.0.1:9090
host=$bind; [ "$host" = 0.0.0.0 ] && host=127.0.0.1
token=$(./wsgate token -c "$conf" -u demo --role agent --rooms '*' --ttl 86400 2>/dev/null)
cat <<MSG
wsgate: starting with $conf
  public   ws://$host:$port/ws   ws://$host:$port/socket.io/   http://$host:$port/socket-status
  admin    http://$admin/socket-status  /socket-stats  /metrics  /api/publish  (api_key: $key)
  browser  http://$admin/dashboard   (sign in with the api_key)
  token    $token   (user demo, any room, 24 h: ./wsgate token -c $conf -u USER)
try:
  node -e "const W=require('./tests/integration/node_modules/ws');const w=new W('ws://$host:$port/ws',{headers:{authorization:'Bearer $token'}});w.on('open',()=>w.send(JSON.stringify({type:'subscribe',room:'lead:42',id:1})));w.on('message',m=>console.log(String(m)))"
  curl -s -H 'Authorization: Bearer $key' -d '{"room":"lead:42","event":"lead.updated","data":{"id":42}}' http://$admin/api/publish
Ctrl-C stops it.
MSG
