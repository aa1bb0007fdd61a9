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

# loadgen's last line "RESULT rps=R p50_us=A p99_us=B ..." -> "R A B"
result_fields() {
  sed -E 's/RESULT rps=([0-9.]+) p50_us=([0-9.]+) p99_us=([0-9.]+).*/\1 \2 \3/'
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
      R[$name,$c,$P]=$(result_fields <<<"$out")
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
R[lgping]=$(result_fields <<<"$lgping")
echo "  loadgen on redis PING c=50 P=1: ${R[lgping]}" >&2
kill "$rpid"; wait "$rpid" 2>/dev/null || true

# The p99 cell (50 connections, no pipelining) in more detail: over loopback
# TCP and over the Unix socket (usjsearchd's default transport, and redis's
# --unixsocket), with the default worker count and with --threads 1 (the
# load generator needs a core of its own on a small machine), for cached and
# uncached SEARCH and for PING (the daemon's own cost without a search).
# ROUNDS cells of P99_SECS seconds each; the medians are reported.
ROUNDS=${ROUNDS:-3}
P99_SECS=${P99_SECS:-3}
declare -A F    # F[transport,threads,mode] = "rps p50 p99 p99min p99max"
med3() {  # median and range of the numbers on stdin, as "med min max"
  sort -g | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; print m, v[1], v[NR]}'
}
focus_cell() {  # key server-address loadgen-args...
  local key=$1 addr=$2 rps="" p50="" p99="" out
  shift 2
  for _ in $(seq "$ROUNDS"); do
    out=$("$loadgen" -s "$addr" -c 50 -P 1 -d "$P99_SECS" "$@" | tail -1)
    read -r a b d <<<"$(result_fields <<<"$out")"
    rps+="$a"$'\n'; p50+="$b"$'\n'; p99+="$d"$'\n'
  done
  read -r r _ _ <<<"$(printf '%s' "$rps" | med3)"
  read -r m _ _ <<<"$(printf '%s' "$p50" | med3)"
  read -r q qlo qhi <<<"$(printf '%s' "$p99" | med3)"
  F[$key]="$r $m $q $qlo $qhi"
  echo "  $key: ${F[$key]}" >&2
}
echo "p99 focus: 50 connections, pipeline 1, $ROUNDS x $P99_SECS s per cell..." >&2
nthreads_default=$(nproc)
focus_threads=("${THREADS:-$nthreads_default}")
[ "${focus_threads[0]}" != 1 ] && focus_threads+=(1)
for th in "${focus_threads[@]}"; do
  for cache in on off; do
    if [ "$cache" = on ]; then
      THREADS=$th start_daemon "$tmp/seeds.idx"
    else
      THREADS=$th start_daemon "$tmp/seeds.idx" --cache 0
    fi
    "$loadgen" -s "127.0.0.1:$dport" -c 10 -d 1 -f "$tmp/seeds.q" >/dev/null   # warm
    focus_cell "tcp,$th,search-$cache" "127.0.0.1:$dport" -f "$tmp/seeds.q"
    focus_cell "unix,$th,search-$cache" "unix:$tmp/d.sock" -f "$tmp/seeds.q"
    if [ "$cache" = on ]; then
      focus_cell "tcp,$th,ping" "127.0.0.1:$dport" -r PING
      focus_cell "unix,$th,ping" "unix:$tmp/d.sock" -r PING
    fi
    stop_daemon
  done
done
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --unixsocket "$tmp/redis.sock" \
    --unixsocketperm 700 --save '' --appendonly no --maxclients 4096 \
    --daemonize no >"$tmp/redis2.log" 2>&1 &
rpid=$!
pids+=("$rpid")
for _ in $(seq 100); do
  [ "$(redis-cli -p "$rport" ping 2>/dev/null)" = PONG ] && break
  sleep 0.05
done
focus_cell "tcp,redis,ping" "127.0.0.1:$rport" -r PING
focus_cell "unix,redis,ping" "unix:$tmp/redis.sock" -r PING
for tr in tcp unix; do
  if [ "$tr" = tcp ]; then rb=(-p "$rport"); else rb=(-s "$tmp/redis.sock"); fi
  line=$(redis-benchmark "${rb[@]}" -t ping_inline -c 50 -P 1 -n "$REQS" --csv | grep PING_INLINE)
  F[$tr,redis-benchmark]=$(awk -F'"' '{printf "%s %.1f %.1f", $4, $10*1000, $14*1000}' <<<"$line")
  echo "  $tr,redis-benchmark: ${F[$tr,redis-benchmark]}" >&2
done
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
printf '\np99 focus (seeds, 50 connections, no pipelining; loadgen, median of %s cells of %s s; p99 range in brackets; req/s, us)\n\n' "$ROUNDS" "$P99_SECS"
echo "| server | threads | request | TCP req/s | p50 | p99 | Unix socket req/s | p50 | p99 |"
echo "|---|--:|---|--:|--:|--:|--:|--:|--:|"
focus_row() {  # label threads mode
  local row="| $1 | $2 | $3 |"
  for tr in tcp unix; do
    read -r a b d lo hi <<<"${F[$tr,$4]}"
    row+=" $a | $b | $d [$lo-$hi] |"
  done
  echo "$row"
}
for th in "${focus_threads[@]}"; do
  focus_row usjsearchd "$th" "SEARCH (answer cache)" "$th,search-on"
  focus_row usjsearchd "$th" "SEARCH (--cache 0)" "$th,search-off"
  focus_row usjsearchd "$th" PING "$th,ping"
done
focus_row redis-server 1 PING "redis,ping"
read -r a b d <<<"${F[tcp,redis-benchmark]}"
read -r e f g <<<"${F[unix,redis-benchmark]}"
echo "| redis-server (redis-benchmark) | 1 | PING_INLINE | $a | $b | $d | $e | $f | $g |"

printf '\ndaemon RSS: %s kB after 100k queries, %s kB after %s more (seeds, --cache 0)\n' "$rss0" "$rss1" "$MILLION"
printf 'seeds/redis: SEARCH with the answer cache (seeds-nocache/redis: every request searched) vs PING_INLINE at the same connections and pipelining\n'
read -r a b d <<<"${R[lgping]}"
read -r e _ _ <<<"${R[redis,50,1]}"
printf 'load generator check: loadgen drives redis PING at %s req/s (p50 %s, p99 %s us), redis-benchmark at %s req/s (c=50, P=1)\n' "$a" "$b" "$d" "$e"

