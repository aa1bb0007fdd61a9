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
#   SECS=5 MILLION=1000000 bench/daemon.sh
# Each usjsearchd cell runs for SECS seconds, once with the answer cache
# (default) and once with --cache 0 (every request is a real search).
# Both usjsearchd and loadgen talk TCP over loopback, like redis-benchmark.
# To show that the load generator is not the bottleneck, loadgen also drives
# the same redis-server's PING (50 connections, no pipelining) next to
# redis-benchmark. Indexes of kdocs are looked up under $BENCH_DATA
# (default bench/data).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
SECS=${SECS:-5}               # seconds per usjsearchd cell
REQS=${REQS:-200000}          # requests per redis-benchmark cell (x5 piped)
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

# start_daemon INDEX [ARGS...] -> sets dport, dpid
start_daemon() {
  local log="$tmp/d.log" idx=$1
  shift
  : >"$log"
  "$BIN/usjsearchd" --index "$idx" --socket "$tmp/d.sock" --listen 127.0.0.1:0 \
      --foreground --max-conns 4096 --log-level warn ${THREADS:+--threads $THREADS} \
      "$@" 2>"$log" &
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

run_usj() {  # name index queries [daemon args...]
  local name=$1 idx=$2 qf=$3
  shift 3
  start_daemon "$idx" "$@"
  "$loadgen" -s "127.0.0.1:$dport" -c 10 -d 1 -f "$qf" >/dev/null   # warm
  for c in "${conns[@]}"; do
    for P in "${depths[@]}"; do
      local out
      out=$("$loadgen" -s "127.0.0.1:$dport" -c "$c" -P "$P" -d "$SECS" -f "$qf" | tail -1)
      R[$name,$c,$P]=$(sed -E 's/RESULT rps=([0-9.]+) p50_us=([0-9.]+) p99_us=([0-9.]+).*/\1 \2 \3/' <<<"$out")
      echo "  $name c=$c P=$P: ${R[$name,$c,$P]}" >&2
    done
  done
  stop_daemon
}

corpora=()
echo "usjsearchd SEARCH (TOP-10) on the seeds..." >&2
run_usj seeds "$tmp/seeds.idx" "$tmp/seeds.q"
run_usj seeds-nocache "$tmp/seeds.idx" "$tmp/seeds.q" --cache 0
corpora+=(seeds seeds-nocache)
kidx=""
data=${BENCH_DATA:-bench/data}
case $data in /*) ;; *) data="$root/$data" ;; esac
for k in "$data/kdocs.idx" "$data/idx/kdocs/usj/index.usj"; do
  [ -f "$k" ] && { kidx="$k"; break; }
done
if [ -n "$kidx" ]; then
  # kdocs queries: 100 of each query type of the bench's query sets, else a
  # few words of the kernel documentation
  if [ -d "$data/queries/kdocs" ]; then
    for f in "$data"/queries/kdocs/*.txt; do head -100 "$f"; done >"$tmp/kdocs.q"
  fi
  if [ ! -s "$tmp/kdocs.q" ]; then
    printf '%s\n' memory "page table" interrupt driver "device tree" \
      scheduler 'mutex OR spinlock' 'dma*' "file system" kernel >"$tmp/kdocs.q"
  fi
  echo "usjsearchd SEARCH (TOP-10) on kdocs ($(wc -l <"$tmp/kdocs.q") queries)..." >&2
  run_usj kdocs "$kidx" "$tmp/kdocs.q"
  run_usj kdocs-nocache "$kidx" "$tmp/kdocs.q" --cache 0
  corpora+=(kdocs kdocs-nocache)
fi

echo "redis-server PING_INLINE..." >&2
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
    --maxclients 4096 --daemonize no >"$tmp/redis.log" 2>&1 &
rpid=$!
pids+=("$rpid")
for _ in $(seq 100); do    # (redis-benchmark -n 10 spins forever with 50 clients)
  [ "$(redis-cli -p "$rport" ping 2>/dev/null)" = PONG ] && break
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
lgping=$("$loadgen" -s "127.0.0.1:$rport" -c 50 -P 1 -d "$SECS" -r PING | tail -1)
R[lgping]=$(sed -E 's/RESULT rps=([0-9.]+) p50_us=([0-9.]+) p99_us=([0-9.]+).*/\1 \2 \3/' <<<"$lgping")
echo "  loadgen on redis PING c=50 P=1: ${R[lgping]}" >&2
kill "$rpid"; wait "$rpid" 2>/dev/null || true

echo "memory over $MILLION queries (no answer cache: every one searched)..." >&2
start_daemon "$tmp/seeds.idx" --cache 0
"$loadgen" -s "127.0.0.1:$dport" -c 50 -P 16 -n 100000 -f "$tmp/seeds.q" >/dev/null
rss0=$(awk '/VmRSS/{print $2}' "/proc/$dpid/status")
"$loadgen" -s "127.0.0.1:$dport" -c 50 -P 16 -n "$MILLION" -f "$tmp/seeds.q" >/dev/null
rss1=$(awk '/VmRSS/{print $2}' "/proc/$dpid/status")
stop_daemon

printf '\nusjsearchd load benchmark (%s, %s cores, load %s; loopback TCP; %s s per cell; req/s, p50/p99 in us)\n\n' \
  "$(date -u +%Y-%m-%d)" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" "$SECS"
hdr="| conns | pipeline |"
sep="|------:|---------:|"
for k in "${corpora[@]}"; do hdr+=" SEARCH $k req/s | p50 | p99 |"; sep+="------:|----:|----:|"; done
hdr+=" redis PING_INLINE req/s | p50 | p99 | seeds/redis | seeds-nocache/redis |"
sep+="------:|----:|----:|------:|------:|"
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
    read -r u _ _ <<<"${R[seeds-nocache,$c,$P]}"
    ratio=$(awk -v s="$s" -v r="$a" 'BEGIN{ if (r > 0) printf "%.0f%%", 100*s/r; else print "-" }')
    ratio2=$(awk -v s="$u" -v r="$a" 'BEGIN{ if (r > 0) printf "%.0f%%", 100*s/r; else print "-" }')
    row+=" $a | $b | $d | $ratio | $ratio2 |"
    echo "$row"
  done
done
printf '\ndaemon RSS: %s kB after 100k queries, %s kB after %s more (seeds, --cache 0)\n' "$rss0" "$rss1" "$MILLION"
printf 'seeds/redis: SEARCH with the answer cache (seeds-nocache/redis: every request searched) vs PING_INLINE at the same connections and pipelining\n'
read -r a b d <<<"${R[lgping]}"
read -r e _ _ <<<"${R[redis,50,1]}"
printf 'load generator check: loadgen drives redis PING at %s req/s (p50 %s, p99 %s us), redis-benchmark at %s req/s (c=50, P=1)\n' "$a" "$b" "$d" "$e"

