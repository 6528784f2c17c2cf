#!/bin/sh
# What the limiter adds on the wire, apart from its own logic: three response
# headers and one server.requestIP() call per request. Three bare servers
# (plain / +RateLimit-* headers / +requestIP), wrk against each in turn, server
# CPU time per request from /proc. Usage: sh test/bench/wire-cost.sh [rounds=5]
set -e
command -v wrk >/dev/null || apt-get install -y wrk
dir=$(dirname "$0"); tmp=$(mktemp -d)
start() { bun "$dir/wire-server.ts" "$1" "$2" > "$tmp/port.$3" & echo $! > "$tmp/pid.$3"; }
start 0 0 plain; start 1 0 headers; start 0 1 requestip
sleep 1
trap 'for v in plain headers requestip; do kill $(cat $tmp/pid.$v) 2>/dev/null; done; rm -rf $tmp' EXIT
for r in $(seq 1 "${1:-5}"); do for v in plain headers requestip; do
  pid=$(cat "$tmp/pid.$v"); port=$(cat "$tmp/port.$v")
  t0=$(awk '{print $14+$15}' /proc/$pid/stat)
  n=$(wrk -t1 -c16 -d3s "http://127.0.0.1:$port/" | awk '/requests in/{print $1}')
  t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  echo "$v $(awk "BEGIN{printf \"%.2f\", ($t1-$t0)*10000/$n}")"
done; done | awk '{s[$1]=s[$1]" "$2} END{for(k in s) print k ": CPU µs/request per round:" s[k]}'
