#!/usr/bin/env bash
# bench/daemon.sh — load benchmark of usjsearchd against redis-server.
#
# Runs bench/loadgen (SEARCH, TOP-10, a cycle of queries) against usjsearchd
# on the seed index (and on bench/data/kdocs.idx when it exists) with 1, 50
# and 200 connections, pipelining 1 and 16, then `redis-benchmark -t
# ping_inline` against a private redis-server (free loopback port, stopped
# afterwards) with the same connection counts, and prints one table. Then
# checks that the daemon's memory stays flat over a million queries.
#
#   bench/daemon.sh                 BUILD=build BIN=bin by default
#   REQS=200000 MILLION=1000000 bench/daemon.sh
# Both usjsearchd and loadgen talk TCP over loopback, like redis-benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
REQS=${REQS:-200000}          # requests per usjsearchd cell
MILLION=${MILLION:-1000000}   # queries of the memory check
THREADS=${THREADS:-}          # usjsearchd --threads (default: cores)

bash scripts/deps.sh bench >/dev/null
make -s BUILD="$BUILD" BIN="$BIN" "$BIN/usjsearchd" "$BIN/usjindex" \
     "$BUILD/rel/bench/loadgen" >/dev/null
loadgen="$BUILD/rel/bench/loadgen"

tmp=$(mktemp -d /tmp/usjbench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$BIN/usjindex" -o "$tmp/seeds.idx" seeds >/dev/null 2>&1

# queries over the seeds: words, phrases, AND, OR, prefix, ranges
cat >"$tmp/seeds.q" <<'EOF'
tariff
"Section 232"
semiconductor
japan investment
"safety clause"
steel OR aluminum
pharma*
$500b..$600b
trade agreement
energy
EOF

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_daemon INDEX -> sets dport, dpid
start_daemon() {
  local log="$tmp/d.log"
  : >"$log"
  "$BIN/usjsearchd" --index "$1" --socket "$tmp/d.sock" --listen 127.0.0.1:0 \
      --foreground --max-conns 4096 --log-level warn ${THREADS:+--threads $THREADS} \
      2>"$log" &
  dpid=$!
  pids+=("$dpid")
  for _ in $(seq 200); do
    grep -q 'ready, listening on' "$log" && break
    sleep 0.05
  done
  dport=$(grep -o 'tcp:127.0.0.1:[0-9]*' "$log" | head -1 | cut -d: -f3)
  [ -n "$dport" ] || { cat "$log" >&2; echo "usjsearchd did not start" >&2; exit 1; }
}

stop_daemon() { kill -TERM "$dpid"; wait "$dpid" || true; }

declare -A R   # R[corpus,c,P] = "rps p50 p99"
conns=(1 50 200)
depths=(1 16)

run_usj() {  # corpus index queries
  local corpus=$1 idx=$2 qf=$3
  start_daemon "$idx"
  "$loadgen" -s "127.0.0.1:$dport" -c 10 -n 20000 -f "$qf" >/dev/null   # warm
  for c in "${conns[@]}"; do
    for P in "${depths[@]}"; do
      local n=$REQS
      [ "$c" -eq 1 ] && [ "$P" -eq 1 ] && n=$((REQS / 4))
      local out
      out=$("$loadgen" -s "127.0.0.1:$dport" -c "$c" -P "$P" -n "$n" -f "$qf" | tail -1)
      R[$corpus,$c,$P]=$(sed -E 's/RESULT rps=([0-9.]+) p50_us=([0-9.]+) p99_us=([0-9.]+).*/\1 \2 \3/' <<<"$out")
      echo "  $corpus c=$c P=$P: ${R[$corpus,$c,$P]}" >&2
    done
  done
  stop_daemon
}

echo "usjsearchd SEARCH (TOP-10) on the seeds..." >&2
run_usj seeds "$tmp/seeds.idx" "$tmp/seeds.q"
corpora=(seeds)
if [ -f bench/data/kdocs.idx ]; then
  # kdocs queries: bench's query set if present, else a few common words
  if ls bench/data/kdocs*.q >/dev/null 2>&1; then
    grep -hv '^#' bench/data/kdocs*.q | cut -f2- | head -1000 >"$tmp/kdocs.q" || true
  fi
  if [ ! -s "$tmp/kdocs.q" ]; then
    printf '%s\n' memory "page table" interrupt driver "device tree" \
      scheduler 'mutex OR spinlock' 'dma*' "file system" kernel >"$tmp/kdocs.q"
  fi
  echo "usjsearchd SEARCH (TOP-10) on kdocs..." >&2
  run_usj kdocs "$(pwd)/bench/data/kdocs.idx" "$tmp/kdocs.q"
  corpora+=(kdocs)
fi

echo "redis-server PING_INLINE..." >&2
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
    --maxclients 4096 --daemonize no >"$tmp/redis.log" 2>&1 &
rpid=$!
pids+=("$rpid")
for _ in $(seq 100); do
  redis-benchmark -p "$rport" -t ping_inline -n 10 -q >/dev/null 2>&1 && break
  sleep 0.05
done
for c in "${conns[@]}"; do
  for P in "${depths[@]}"; do
    n=$REQS; [ "$P" -eq 16 ] && n=$((REQS * 5))
    line=$(redis-benchmark -p "$rport" -t ping_inline -c "$c" -P "$P" -n "$n" --csv \
           | grep PING_INLINE)
    # "test","rps","avg","min","p50","p95","p99","max" (ms)
    R[redis,$c,$P]=$(awk -F'"' '{printf "%s %.1f %.1f", $4, $10*1000, $14*1000}' <<<"$line")
    echo "  redis c=$c P=$P: ${R[redis,$c,$P]}" >&2
  done
done
kill "$rpid"; wait "$rpid" 2>/dev/null || true

echo "memory over $MILLION queries..." >&2
start_daemon "$tmp/seeds.idx"
"$loadgen" -s "127.0.0.1:$dport" -c 50 -P 16 -n 100000 -f "$tmp/seeds.q" >/dev/null
rss0=$(awk '/VmRSS/{print $2}' "/proc/$dpid/status")
"$loadgen" -s "127.0.0.1:$dport" -c 50 -P 16 -n "$MILLION" -f "$tmp/seeds.q" >/dev/null
rss1=$(awk '/VmRSS/{print $2}' "/proc/$dpid/status")
stop_daemon

printf '\nusjsearchd load benchmark (%s, %s cores; loopback TCP; req/s, p50/p99 in us)\n\n' \
  "$(date -u +%Y-%m-%d)" "$(nproc)"
hdr="| conns | pipeline |"
sep="|------:|---------:|"
for k in "${corpora[@]}"; do hdr+=" SEARCH $k req/s | p50 | p99 |"; sep+="------:|----:|----:|"; done
hdr+=" redis PING_INLINE req/s | p50 | p99 | seeds/redis |"
sep+="------:|----:|----:|------:|"
echo "$hdr"; echo "$sep"
for c in "${conns[@]}"; do
  for P in "${depths[@]}"; do
    row="| $c | $P |"
    for k in "${corpora[@]}"; do
      read -r a b d <<<"${R[$k,$c,$P]}"
      row+=" $a | $b | $d |"
    done
    read -r a b d <<<"${R[redis,$c,$P]}"
    read -r s _ _ <<<"${R[seeds,$c,$P]}"
    ratio=$(awk -v s="$s" -v r="$a" 'BEGIN{ if (r > 0) printf "%.0f%%", 100*s/r; else print "-" }')
    row+=" $a | $b | $d | $ratio |"
    echo "$row"
  done
done
printf '\ndaemon RSS: %s kB after 100k queries, %s kB after %s more\n' "$rss0" "$rss1" "$MILLION"
