#!/usr/bin/env bash
# bench/run.sh — `make bench`: builds the corpora (kdocs, synth) and the query
# sets, indexes each corpus with usjindex, Xapian and SQLite FTS5, runs the
# same queries on the three, times `usjsearch` against `rg` as whole
# processes, and prints markdown tables (also in bench/out/results.md).
# Then runs bench/daemon.sh (the daemon load benchmark) if it exists.
# See bench/README.md for what is measured and how.
#
# Environment (all optional):
#   BENCH_CORPORA="kdocs synth"  corpora to run
#   BENCH_QUICK=1                small fast run: kdocs only, 20 queries per
#                                type, 1 timed pass, synth (if asked) 40 MB
#   BENCH_ENGINES="usj xapian fts5"
#   BENCH_SYNTH_MB=400           synth size in MB (10^6 bytes)
#   BENCH_QUERIES=112            queries per type (9 types)
#   BENCH_REPS=3                 timed passes (a query's time is its median)
#   BENCH_SYNTH_REPS=1           the same on synth (FTS5 alone needs minutes
#                                per pass there)
#   BENCH_MEMORY=256M            usjindex --memory
#   BENCH_XAPIAN_MAX_S=600       index only a prefix of a corpus with Xapian
#                                when its estimated build time is above this
#   BENCH_XAPIAN_FULL=1          never use a prefix
#   BENCH_REBUILD=1              ignore cached corpora and indexes
#   BENCH_REINDEX="kdocs/* */fts5"  rebuild these CORPUS/ENGINE indexes
#                                (shell patterns) even when cached
#   BENCH_DAEMON_TIMEOUT=1800    time limit of bench/daemon.sh
#   BENCH_DATA=bench/data BENCH_OUT=bench/out
#   BUILD, BIN, SEED_INDEX       as for make (where libusj and programs are)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/deps.sh bench

BUILD=${BUILD:-build}
BIN=${BIN:-bin}
SEED_INDEX=${SEED_INDEX:-.usjsearch.idx}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
  CORPORA=${BENCH_CORPORA:-kdocs}
  PER_TYPE=${BENCH_QUERIES:-20}
  REPS=${BENCH_REPS:-1}
  SYNTH_REPS=${BENCH_SYNTH_REPS:-1}
  SYNTH_MB=${BENCH_SYNTH_MB:-40}
else
  CORPORA=${BENCH_CORPORA:-kdocs synth}
  PER_TYPE=${BENCH_QUERIES:-112}
  REPS=${BENCH_REPS:-3}
  SYNTH_REPS=${BENCH_SYNTH_REPS:-1}
  SYNTH_MB=${BENCH_SYNTH_MB:-400}
fi
ENGINES=${BENCH_ENGINES:-usj xapian fts5}
MEMORY=${BENCH_MEMORY:-256M}
XAPIAN_MAX_S=${BENCH_XAPIAN_MAX_S:-600}
REBUILD=${BENCH_REBUILD:-0}
REINDEX=${BENCH_REINDEX:-}
DATA=${BENCH_DATA:-bench/data}
OUT=${BENCH_OUT:-bench/out}
case $DATA in /*) ;; *) DATA=$ROOT/$DATA ;; esac
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
case $SEED_INDEX in /*) ;; *) SEED_INDEX=$ROOT/$SEED_INDEX ;; esac
TOOLS=$BUILD/rel/bench
case $TOOLS in /*) ;; *) TOOLS=$ROOT/$TOOLS ;; esac
mkdir -p "$DATA" "$OUT" "$TOOLS"
export LC_ALL=C

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
have_engine() { case " $ENGINES " in *" $1 "*) return 0 ;; esac; return 1; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
# stamp_ok DIR STAMP: the cached thing in DIR was built from STAMP
stamp_ok() { [ "$REBUILD" != 1 ] && [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]; }
kv() { [ -f "$1" ] && awk -v k="$2" '$1 == k { print $2; exit }' "$1" 2>/dev/null || true; }

# ---- tools -------------------------------------------------------------------
CFLAGS_B=(-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Iinclude -Ilib)
build_tool() {   # name, fallback command...
  local name=$1; shift
  if make -s BUILD="$BUILD" BIN="$BIN" SEED_INDEX="$SEED_INDEX" "$BUILD/rel/bench/$name" \
       >"$OUT/make-$name.log" 2>&1; then
    return 0
  fi
  if [ $# -gt 0 ]; then "$@" 2>>"$OUT/make-$name.log" && return 0; fi
  log "cannot build $name (see $OUT/make-$name.log)"
  return 1
}
log "building tools in $TOOLS"
build_tool synth gcc "${CFLAGS_B[@]}" -o "$TOOLS/synth" bench/synth.c
build_tool queries gcc "${CFLAGS_B[@]}" -o "$TOOLS/queries" bench/queries.c -lstemmer
HAVE_USJQ=0
if have_engine usj && build_tool bench_query; then HAVE_USJQ=1; fi
if have_engine fts5; then
  gcc "${CFLAGS_B[@]}" -o "$TOOLS/peer_fts5" bench/peer_fts5.c -lsqlite3
fi
if have_engine xapian; then
  g++ -std=c++17 -O2 -g -Wall -Wextra -Werror -o "$TOOLS/peer_xapian" bench/peer_xapian.cc -lxapian
fi
HAVE_USJINDEX=0; [ -x "$BIN/usjindex" ] && have_engine usj && HAVE_USJINDEX=1
HAVE_USJSEARCH=0; [ -x "$BIN/usjsearch" ] && HAVE_USJSEARCH=1

# ---- corpora -----------------------------------------------------------------
KDOCS=$DATA/kdocs
kstamp="corpus.sh $(hash_of bench/corpus.sh) $(dpkg-query -W -f='${Version}' linux-doc-6.1 2>/dev/null || echo ?)"
if ! stamp_ok "$KDOCS" "$kstamp"; then
  log "building kdocs from linux-doc-6.1"
  rm -rf "$KDOCS"
  bash bench/corpus.sh "$KDOCS" 8
  echo "$kstamp" > "$KDOCS/.stamp"
fi
corpus_dir() {
  case $1 in
    kdocs) echo "$KDOCS" ;;
    synth) if [ "$SYNTH_MB" = 400 ]; then echo "$DATA/synth"; else echo "$DATA/synth-${SYNTH_MB}m"; fi ;;
    *) echo "unknown corpus $1" >&2; return 1 ;;
  esac
}
for c in $CORPORA; do
  [ "$c" = synth ] || continue
  SYN=$(corpus_dir synth)
  sstamp="synth $(hash_of bench/synth.c) $SYNTH_MB $kstamp"
  if ! stamp_ok "$SYN" "$sstamp"; then
    log "generating synth ($SYNTH_MB MB)"
    rm -rf "$SYN"; mkdir -p "$SYN"
    "$TOOLS/synth" "$KDOCS" "$SYN" "$SYNTH_MB" 16
    echo "$sstamp" > "$SYN/.stamp"
  fi
done
corpus_stamp() { cat "$(corpus_dir "$1")/.stamp"; }
corpus_bytes() { stat -c %s "$(corpus_dir "$1")"/*.txt | awk '{ s += $1 } END { print s }'; }

# ---- query sets ----------------------------------------------------------------
for c in $CORPORA; do
  Q=$DATA/queries/$c
  qstamp="queries $(hash_of bench/queries.c) $PER_TYPE $(corpus_stamp "$c")"
  if ! stamp_ok "$Q" "$qstamp"; then
    log "generating queries for $c"
    rm -rf "$Q"; mkdir -p "$Q"
    "$TOOLS/queries" "$(corpus_dir "$c")" "$Q" "$PER_TYPE" 2>"$OUT/queries-$c.log"
    echo "$qstamp" > "$Q/.stamp"
  fi
done

# ---- indexing ------------------------------------------------------------------
# Each engine's index lives in $DATA/idx/CORPUS/ENGINE/ with the measurement
# of its build (time.txt: wall/rss/user/sys; out.txt: the program's output).
TIMEF=$'wall %e\nrss_kb %M\nuser %U\nsys %S'
idx_path() {
  case $2 in
    usj|usj-text) echo "$DATA/idx/$1/usj/index.usj" ;;
    usj-mt) echo "$DATA/idx/$1/usj-mt/index.usj" ;;
    fts5) echo "$DATA/idx/$1/fts5/index.db" ;;
    xapian) echo "$DATA/idx/$1/xapian/db" ;;
  esac
}
index_bytes() {
  local p; p=$(idx_path "$1" "$2")
  if [ -d "$p" ]; then du -sb "$p" | cut -f1; elif [ -f "$p" ]; then stat -c %s "$p"; else echo 0; fi
}
# The peers' sources carry "index-version: N", bumped when their indexing
# changes, so that editing their query side keeps the (slow) cached indexes.
index_version() { sed -n 's/.*index-version: *\([0-9][0-9.]*\).*/\1/p' "$1" | awk 'NR == 1'; }
engine_stamp() {   # corpus engine
  local st
  case $2 in
    usj) st="usj $(hash_of "$BIN/usjindex") $MEMORY threads=0" ;;
    usj-mt) st="usj-mt $(hash_of "$BIN/usjindex") $MEMORY" ;;
    fts5) st="fts5 v$(index_version bench/peer_fts5.c) $(sqlite3 --version | cut -d' ' -f1)" ;;
    xapian) st="xapian v$(index_version bench/peer_xapian.cc) $(xapian-config --version 2>/dev/null | awk '{print $NF}')" ;;
  esac
  echo "$st | $(corpus_stamp "$1")"
}
build_index() {   # corpus engine [prefix_files]
  local c=$1 e=$2 np=${3:-} d=$DATA/idx/$1/$2 cd stamp
  cd=$(corpus_dir "$c")
  stamp=$(engine_stamp "$c" "$e")
  [ -n "$np" ] && stamp="$stamp | prefix $np files"
  local force=0 pat
  set -f                       # the patterns are not file names
  for pat in $REINDEX; do
    # shellcheck disable=SC2254
    case "$c/$e" in $pat) force=1 ;; esac
  done
  set +f
  if [ $force = 0 ] && stamp_ok "$d" "$stamp"; then log "$c/$e: cached index"; return 0; fi
  rm -rf "$d"; mkdir -p "$d"
  if [ -n "$np" ]; then
    # A prefix of the corpus: its first np files (name order), linked.
    mkdir -p "$d/corpus"
    local all=("$cd"/*.txt) f
    for f in "${all[@]:0:np}"; do ln -s "$f" "$d/corpus/"; done
    cd=$d/corpus
    echo "$np ${#all[@]}" > "$d/prefix"
  fi
  cat "$cd"/*.txt | wc -c > "$d/input_bytes"
  log "$c/$e: indexing $(( $(cat "$d/input_bytes") / 1000000 )) MB${np:+ (prefix: $np files)}"
  local rc=0
  case $e in
    usj) USJ_INDEX_THREADS=0 /usr/bin/time -f "$TIMEF" -o "$d/time.txt" \
           "$BIN/usjindex" -o "$(idx_path "$c" usj)" --memory "$MEMORY" "$cd" \
           >"$d/out.txt" 2>"$d/err.txt" || rc=$?
         if [ $rc = 0 ]; then
           "$BIN/usjindex" --stats "$(idx_path "$c" usj)" >"$d/stats.txt" 2>&1 || true
           if [ "$HAVE_USJQ" = 1 ]; then
             "$TOOLS/bench_query" stats "$(idx_path "$c" usj)" >"$d/sections.txt" 2>&1 || true
           fi
         fi ;;
    usj-mt) /usr/bin/time -f "$TIMEF" -o "$d/time.txt" \
           "$BIN/usjindex" -o "$(idx_path "$c" usj-mt)" --memory "$MEMORY" "$cd" \
           >"$d/out.txt" 2>"$d/err.txt" || rc=$? ;;
    fts5) /usr/bin/time -f "$TIMEF" -o "$d/time.txt" \
           "$TOOLS/peer_fts5" index "$(idx_path "$c" fts5)" "$cd" >"$d/out.txt" 2>"$d/err.txt" || rc=$? ;;
    xapian) /usr/bin/time -f "$TIMEF" -o "$d/time.txt" \
           "$TOOLS/peer_xapian" index "$(idx_path "$c" xapian)" "$cd" >"$d/out.txt" 2>"$d/err.txt" || rc=$? ;;
  esac
  if [ $rc != 0 ]; then
    log "$c/$e: indexing FAILED (exit $rc): $(tail -n 3 "$d/err.txt" | tr '\n' ' ')"
    touch "$d/failed"
    return 0
  fi
  echo "$stamp" > "$d/.stamp"
  log "$c/$e: $(kv "$d/time.txt" wall) s, $(( $(index_bytes "$c" "$e") / 1000000 )) MB"
}
# usjindex is measured twice: single-threaded (USJ_INDEX_THREADS=0, the
# index the queries use) and with its default helper threads (usj-mt).
IDX_ENGINES=$(echo " $ENGINES " | sed 's/ usj / usj usj-mt /')
Q_ENGINES=$(echo " $ENGINES " | sed 's/ usj / usj usj-text /')
for c in $CORPORA; do
  for e in $IDX_ENGINES; do
    np=
    case $e in
      usj|usj-mt) [ "$HAVE_USJINDEX" = 1 ] || { log "$c/$e: no $BIN/usjindex yet, skipped"; continue; } ;;
      xapian)
        # Xapian slows down as its B-trees grow (kdocs 20 MB: ~16 s; synth
        # 400 MB: ~790 s, i.e. time ~ size^1.3). Unless the full index is
        # cached or BENCH_XAPIAN_FULL=1, a corpus whose estimated build time
        # exceeds BENCH_XAPIAN_MAX_S is indexed on a prefix of its files (the
        # throughput is measured there; size is extrapolated; no queries).
        kx=$DATA/idx/kdocs/xapian
        if [ "$c" != kdocs ] && [ -f "$kx/time.txt" ] && [ "${BENCH_XAPIAN_FULL:-0}" != 1 ] \
           && ! stamp_ok "$DATA/idx/$c/xapian" "$(engine_stamp "$c" xapian)"; then
          kw=$(kv "$kx/time.txt" wall); kb=$(corpus_bytes kdocs); cb=$(corpus_bytes "$c")
          est=$(awk -v w="$kw" -v kb="$kb" -v cb="$cb" 'BEGIN { printf "%d", w * (cb / kb) ^ 1.3 }')
          if [ "$est" -gt "$XAPIAN_MAX_S" ]; then
            pb=$(awk -v w="$kw" -v kb="$kb" -v m="$XAPIAN_MAX_S" 'BEGIN { printf "%d", kb * (0.8 * m / w) ^ (1 / 1.3) }')
            np=0; acc=0
            for f in "$(corpus_dir "$c")"/*.txt; do
              acc=$(( acc + $(stat -c %s "$f") )); [ "$acc" -le "$pb" ] || break; np=$(( np + 1 ))
            done
            [ "$np" -ge 1 ] || np=1
            log "$c/xapian: estimated ${est}s > BENCH_XAPIAN_MAX_S=$XAPIAN_MAX_S: indexing a prefix of $np files"
          fi
        fi ;;
    esac
    build_index "$c" "$e" $np
  done
done

# ---- queries -------------------------------------------------------------------
# Every engine's driver runs at the same time, each with its own index open:
# they warm up together (one untimed pass each; the timed blocks start once
# all are warm), then take turns, one timed block at a time (a query type in
# both modes, in one pass; BENCH_SYNC in bench/bench_util.h, driven by
# bench/interleave.py): pass 1 rare on usj, usj-text, xapian and fts5, pass
# 1 mid on each, ... So a machine that gets slower or faster during the
# minutes of a run (it does: other jobs, frequency) reaches every engine
# alike, and the ratios do not depend on which engine ran when.
for c in $CORPORA; do
  mkdir -p "$OUT/$c"
  spec=$OUT/$c/drivers.tsv
  : >"$spec"
  names=()
  reps=$REPS; [ "$c" = synth ] && reps=$SYNTH_REPS
  for e in $Q_ENGINES; do
    rm -f "$OUT/$c/$e.tsv" "$OUT/$c/$e.counts"
    p=$(idx_path "$c" "$e"); ie=${e%-text}
    if ! [ -e "$p" ] || ! [ -f "$DATA/idx/$c/$ie/.stamp" ]; then continue; fi
    if [ -f "$DATA/idx/$c/$ie/prefix" ]; then log "$c/$e: index of a prefix only, no queries"; continue; fi
    extra=()
    case $e in
      usj|usj-text) [ "$HAVE_USJQ" = 1 ] || { log "$c/$e: no bench_query (query engine missing?), skipped"; continue; }
           prog=("$TOOLS/bench_query"); [ "$e" = usj-text ] && extra=(text) ;;
      fts5) prog=("$TOOLS/peer_fts5") ;;
      xapian) prog=("$TOOLS/peer_xapian") ;;
    esac
    printf '%s\t' "$e" "$OUT/$c/$e.tsv.tmp" "$OUT/$c/$e.err" "${prog[@]}" query "$p" \
      "$DATA/queries/$c" "$reps" "$OUT/$c/$e.counts" "${extra[@]}" | sed 's/\t$//' >>"$spec"
    echo >>"$spec"
    names+=("$e")
  done
  [ "${#names[@]}" -gt 0 ] || continue
  log "$c: ${names[*]}: $(cat "$DATA/queries/$c"/*.txt | wc -l) queries x (1 warm-up + $reps) x 2 modes, timed blocks in turn"
  while read -r e rc; do
    if [ "$rc" != 0 ]; then
      log "$c/$e: queries FAILED (exit $rc): $(tail -n 3 "$OUT/$c/$e.err" | tr '\n' ' ')"
      rm -f "$OUT/$c/$e.tsv.tmp" "$OUT/$c/$e.counts"
    else
      mv "$OUT/$c/$e.tsv.tmp" "$OUT/$c/$e.tsv"
    fi
  done < <(python3 bench/interleave.py "$reps" "$spec")
  rm -f "$spec"
done

# ---- whole process: usjsearch vs rg ----------------------------------------------
# hyperfine, warm (3 warm-up runs), output discarded; -i because both exit 1
# when nothing matches.
PQ="Section 232"
run_hf() {   # name, usj index, corpus dir
  local name=$1 idx=$2 dir=$3
  rm -f "$OUT/hf-$name.csv"
  [ "$HAVE_USJSEARCH" = 1 ] && [ -f "$idx" ] || { log "hyperfine $name: no usjsearch or index, skipped"; return 0; }
  log "hyperfine $name"
  hyperfine -N -i -w 3 -m 20 --export-csv "$OUT/hf-$name.csv" \
    -n usjsearch "$BIN/usjsearch --no-server --index $idx '$PQ'" \
    -n rg "rg '$PQ' $dir" >"$OUT/hf-$name.txt" 2>&1 \
    || log "hyperfine $name failed: $(tail -n 2 "$OUT/hf-$name.txt" | tr '\n' ' ')"
}
if [ -f "$SEED_INDEX" ]; then run_hf seeds "$SEED_INDEX" "$ROOT/seeds"; else log "no seed index $SEED_INDEX"; fi
for c in $CORPORA; do
  [ "$c" = kdocs ] && continue
  run_hf "$c" "$(idx_path "$c" usj)" "$(corpus_dir "$c")"
done

# ---- report --------------------------------------------------------------------
R=$OUT/results.md
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
{
echo "# usjsearch benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Machine: $(lscpu 2>/dev/null | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}'),"\
     "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM,"\
     "Linux $(uname -r). Xapian $(xapian-config --version 2>/dev/null | awk '{print $NF}'),"\
     "SQLite $(sqlite3 --version | cut -d' ' -f1), $(rg --version | sed -n 1p)."
echo "Queries: $PER_TYPE per type, 1 warm-up + $REPS timed passes on kdocs, $SYNTH_REPS on synth (median per query), in-process, warm."
echo "usj TOP-10 counts matches exactly up to 1000 (total-hits threshold, like Lucene's default; past it the total is a lower bound and AND/phrases prune), COUNT is exact; Xapian's TOP-10 total is its estimate, FTS5's TOP-10 counts nothing."
[ "$QUICK" = 1 ] && echo "**BENCH_QUICK=1: a small run, not the reference figures.**"
echo

echo "## Indexing (one process per engine; input in page cache)"
echo
echo "MB/s = input / wall time; MB/CPU-s = input / (user + sys) time, less sensitive to other load on the machine. \"built\": when the index was built and measured (UTC; cached indexes keep their measurement)."
echo
echo "| corpus | engine | input MB | paragraphs | wall s | MB/s | CPU s | MB/CPU-s | peak RSS MB | index MB | index / input | built |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for c in $CORPORA; do
  in=$(corpus_bytes "$c")
  for e in $IDX_ENGINES; do
    d=$DATA/idx/$c/$e
    [ -f "$d/.stamp" ] || { echo "| $c | $e | $(mb "$in") | | n/a | | | | | | | |"; continue; }
    built=$(date -u -r "$d/time.txt" '+%H:%M')
    w=$(kv "$d/time.txt" wall); rss=$(kv "$d/time.txt" rss_kb)
    cpu=$(awk -v u="$(kv "$d/time.txt" user)" -v s="$(kv "$d/time.txt" sys)" 'BEGIN{printf "%.1f", u+s}')
    ib=$(index_bytes "$c" "$e"); eb=$in; label=$e; note=
    case $e in usj) label="usj (1 thread)" ;; usj-mt) label="usj (default threads)" ;; esac
    [ -f "$d/input_bytes" ] && eb=$(cat "$d/input_bytes")
    docs=$(kv "$d/out.txt" docs); [ -n "$docs" ] || docs=$(kv "$d/sections.txt" docs)
    [ -n "$docs" ] || docs=$(kv "$d/stats.txt" paragraphs:)
    [ -n "$docs" ] || docs=$(awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^paragraph/) { print $(i - 1); exit } }' "$d/err.txt" 2>/dev/null || true)
    if [ -f "$d/prefix" ]; then
      label="$e (prefix: $(awk '{print $1 " of " $2}' "$d/prefix") files)"
      note=$(awk -v ib="$ib" -v eb="$eb" -v full="$in" 'BEGIN { printf " (full, extrapolated: ~%.0f)", ib / eb * full / 1e6 }')
    fi
    awk -v c="$c" -v e="$label" -v inb="$eb" -v w="$w" -v rss="$rss" -v ib="$ib" -v docs="$docs" -v cpu="$cpu" -v note="$note" -v built="$built" \
      'BEGIN { printf "| %s | %s | %.1f | %s | %.2f | %.2f | %s | %.2f | %.0f | %.1f%s | %.3f | %s |\n",
               c, e, inb/1e6, docs, w, inb/1e6/w, cpu, (cpu > 0 ? inb/1e6/cpu : 0), rss/1024, ib/1e6, note, ib/inb, built }'
  done
done
echo

echo "### Index targets"
echo
echo "| corpus | figure | usjsearch | reference | ratio | target | met |"
echo "|---|---|---:|---:|---:|---|---|"
for c in $CORPORA; do
  in=$(corpus_bytes "$c"); du=$DATA/idx/$c/usj; df=$DATA/idx/$c/fts5
  [ -f "$du/.stamp" ] || { echo "| $c | (no usjsearch index) | | | | | |"; continue; }
  uw=$(kv "$du/time.txt" wall); ub=$(index_bytes "$c" usj)
  if [ -f "$df/.stamp" ]; then
    fw=$(kv "$df/time.txt" wall); fb=$(index_bytes "$c" fts5)
    cpu_of() { awk -v u="$(kv "$1/time.txt" user)" -v s="$(kv "$1/time.txt" sys)" 'BEGIN { print u + s }'; }
    awk -v c="$c" -v inb="$in" -v uw="$uw" -v fw="$fw" -v uc="$(cpu_of "$du")" -v fc="$(cpu_of "$df")" 'BEGIN {
      u = inb/1e6/uw; f = inb/1e6/fw; r = u/f
      printf "| %s | indexing MB/s (wall) vs FTS5 | %.2f | %.2f | %.2fx | >= 2x | %s |\n", c, u, f, r, (r >= 2 ? "yes" : "**no**")
      u = inb/1e6/uc; f = inb/1e6/fc; r = u/f
      printf "| %s | indexing MB per CPU-s vs FTS5 | %.2f | %.2f | %.2fx | >= 2x | %s |\n", c, u, f, r, (r >= 2 ? "yes" : "**no**") }'
    if [ -f "$DATA/idx/$c/usj-mt/.stamp" ]; then
      awk -v c="$c" -v inb="$in" -v uw="$(kv "$DATA/idx/$c/usj-mt/time.txt" wall)" -v fw="$fw" 'BEGIN {
        u = inb/1e6/uw; f = inb/1e6/fw; r = u/f
        printf "| %s | indexing MB/s (wall), default threads, vs FTS5 | %.2f | %.2f | %.2fx | >= 2x | %s |\n", c, u, f, r, (r >= 2 ? "yes" : "**no**") }'
    fi
    # postings + positions + dictionary, from the section table
    ppd=$(awk 'tolower($1) ~ /^section_(postings|positions|dict|dictionary)$/ { s += $2 } END { print s + 0 }' "$du/sections.txt" 2>/dev/null)
    secs=$(awk 'tolower($1) ~ /^section_(postings|positions|dict|dictionary)$/ { sub(/^section_/, "", $1); printf "%s%s", n++ ? "+" : "", $1 }' "$du/sections.txt" 2>/dev/null)
    if [ "${ppd:-0}" -gt 0 ]; then
      awk -v c="$c" -v p="$ppd" -v f="$fb" -v s="$secs" 'BEGIN {
        printf "| %s | %s MB vs FTS5 index MB | %.2f | %.2f | %.2fx | < 1x | %s |\n", c, s, p/1e6, f/1e6, p/f, (p < f ? "yes" : "**no**") }'
    else
      echo "| $c | postings+positions+dict vs FTS5 | (section sizes unavailable) | $(mb "$fb") | | < 1x | |"
    fi
  fi
  awk -v c="$c" -v b="$ub" -v inb="$in" 'BEGIN {
    printf "| %s | whole index MB vs input MB | %.2f | %.2f | %.3fx | <= 0.75x | %s |\n", c, b/1e6, inb/1e6, b/inb, (b/inb <= 0.75 ? "yes" : "**no**") }'
  # peak memory against the --memory budget (+ 64 MB taken as the "small
  # constant": buffers, dictionary, mapped input)
  awk -v c="$c" -v rss="$(kv "$du/time.txt" rss_kb)" -v m="$MEMORY" 'BEGIN {
    b = m + 0; u = tolower(substr(m, length(m)))
    if (u == "k") b *= 1024; else if (u == "m") b *= 1048576; else if (u == "g") b *= 1073741824
    r = rss * 1024
    printf "| %s | peak RSS MB vs --memory %s | %.0f | %.0f | %.2fx | <= budget + 64 MB | %s |\n", c, m, r / 1048576, b / 1048576, r / b, (r <= b + 67108864 ? "yes" : "**no**") }'
  if [ -f "$du/sections.txt" ]; then
    echo "| $c | sections: $(awk '$1 ~ /^section_/ { sub(/^section_/, "", $1); printf "%s%s %.2f MB", n++ ? ", " : "", $1, $2/1e6 }' "$du/sections.txt") | | | | | |"
  fi
done
echo

for c in $CORPORA; do
  for mode in top10 count; do
    [ "$mode" = top10 ] && M="TOP-10" || M="COUNT"
    echo "## Query latency, $c, $M (us: median / p99)"
    echo
    if [ "$mode" = top10 ]; then
      echo "usj: ranked hits without the stored text (USJ_SEARCH_NOTEXT: doc, path, line), comparable to the peers' doc ids; usj-text: complete hits (paragraph inflated, match spans), what usjsearch prints. Both count matches exactly up to 1000, then the total may be a lower bound (usj_search_opts.total_upto; the hits are the same). Speed-up and p99/median are computed on usj."
      echo
    fi
    names=()
    for e in usj usj-text xapian fts5; do
      have_engine "${e%-text}" && { [ "$e" != usj-text ] || [ "$mode" = top10 ]; } && names+=("$e")
    done
    for e in "${names[@]}"; do
      if [ -f "$OUT/$c/$e.tsv" ]; then awk -v e="$e" '{ print e "\t" $0 }' "$OUT/$c/$e.tsv"; fi
    done | awk -v mode="$mode" -v names="${names[*]}" -F'\t' '
      BEGIN { ne = split(names, nm, " "); for (i = 1; i <= ne; i++) idx[nm[i]] = i }
      { fi = idx[$1]; $0 = substr($0, length($1) + 2) }
      $2 == mode { med[fi, $1] = $4; p99[fi, $1] = $5; if (!(($1) in seen)) { seen[$1] = 1; order[++nt] = $1 } }
      END {
        hdr = "| type |"; sep = "|---|"
        for (i = 1; i <= ne; i++) { hdr = hdr " " nm[i] " med | " nm[i] " p99 |"; sep = sep "---:|---:|" }
        hdr = hdr " speed-up vs faster peer (>= 3x) | usj p99/med (<= 10x) |"; sep = sep "---:|---:|"
        print hdr; print sep
        for (t = 1; t <= nt; t++) {
          ty = order[t]; line = "| " ty " |"; best = 0
          for (i = 1; i <= ne; i++) {
            if ((i, ty) in med) { line = line sprintf(" %.1f | %.1f |", med[i, ty], p99[i, ty]) } else line = line " n/a | n/a |"
            if (nm[i] !~ /^usj/ && (i, ty) in med && (best == 0 || med[i, ty] < best)) best = med[i, ty]
            if (nm[i] == "usj" && (i, ty) in med) { u = med[i, ty]; up = p99[i, ty] } 
          }
          ui = 0; for (i = 1; i <= ne; i++) if (nm[i] == "usj" && (i, ty) in med) ui = i
          if (ui && best > 0 && u > 0) line = line sprintf(" %.1fx%s |", best / u, best / u >= 3 ? "" : " (miss)"); else line = line " n/a |"
          if (ui && u > 0) line = line sprintf(" %.1fx%s |", up / u, up / u <= 10 ? "" : " (miss)"); else line = line " n/a |"
          print line
          for (i = 1; i <= ne; i++) if ((i, ty) in med && med[i, ty] > 0) { lg[i] += log(med[i, ty]); ng[i]++ }
        }
        line = "| **geomean** |"
        for (i = 1; i <= ne; i++) {
          g[i] = ng[i] ? exp(lg[i] / ng[i]) : 0
          line = line (ng[i] ? sprintf(" %.1f | |", g[i]) : " n/a | |")
          if (nm[i] == "xapian") xi = i; if (nm[i] == "usj") ui = i
        }
        if (xi && ui && g[ui] > 0 && ng[ui] == ng[xi]) line = line sprintf(" vs Xapian: %.1fx (>= 10x)%s | |", g[xi] / g[ui], g[xi] / g[ui] >= 10 ? "" : " (miss)")
        else line = line " | |"
        print line
      }'
    echo
  done
  echo "### Result-count agreement, $c (queries with the same exact COUNT)"
  echo
  echo "exact / within 5%; the engines tokenize and stem differently (Snowball vs Porter; Xapian keeps \"_\" inside words), so some difference is expected."
  echo
  echo "| type | usj = xapian | usj = fts5 | xapian = fts5 |"
  echo "|---|---:|---:|---:|"
  for e in usj xapian fts5; do
    if [ -f "$OUT/$c/$e.counts" ]; then awk -v e="$e" '{ print e "\t" $0 }' "$OUT/$c/$e.counts"; fi
  done | awk -F'\t' '
    { v[$1, $2, $3] = $4; has[$1] = 1; if (!(($2) in seen)) { seen[$2] = 1; order[++nt] = $2 }; if ($3 + 1 > nq[$2]) nq[$2] = $3 + 1 }
    function cmp(a, b, ty,   q, eq, near, x, y) {
      if (!(a in has) || !(b in has)) return "n/a"
      for (q = 0; q < nq[ty]; q++) { x = v[a, ty, q]; y = v[b, ty, q]
        if (x == y) eq++; if (x == y || (x > 0 && y > 0 && (x > y ? x / y : y / x) <= 1.05)) near++ }
      return sprintf("%d%% / %d%%", 100 * eq / nq[ty], 100 * near / nq[ty]) }
    END { for (t = 1; t <= nt; t++) { ty = order[t]; printf "| %s | %s | %s | %s |\n", ty, cmp("usj", "xapian", ty), cmp("usj", "fts5", ty), cmp("xapian", "fts5", ty) } }'

  echo
done

for c in $CORPORA; do
  [ -f "$OUT/$c/usj.counts" ] || continue
  echo "### Slowest usjsearch queries, $c (us, median of the passes)"
  echo
  echo "| type | query | matches | TOP-10 | COUNT |"
  echo "|---|---|---:|---:|---:|"
  sort -t "$(printf '\t')" -k4,4 -g -r "$OUT/$c/usj.counts" | awk 'NR <= 8' |
    awk -F'\t' '{ q = $6; gsub(/\|/, "\\|", q); printf "| %s | `%s` | %s | %.0f | %.0f |\n", $1, q, $3, $4, $5 }'
  echo
done

echo "## Whole process: \`usjsearch \"$PQ\"\` vs \`rg \"$PQ\"\` (hyperfine, warm, ms)"
echo
echo "| corpus | usjsearch median | usjsearch min | rg median | rg min | rg / usjsearch (medians) | target | met |"
echo "|---|---:|---:|---:|---:|---:|---|---|"
for name in seeds $CORPORA; do
  [ "$name" = kdocs ] && continue
  f=$OUT/hf-$name.csv
  [ -f "$f" ] || { echo "| $name | n/a | | n/a | | | | |"; continue; }
  [ "$name" = seeds ] && tgt=">= 1x" || tgt=">= 100x"
  # hyperfine CSV: command,mean,stddev,median,user,system,min,max (seconds)
  awk -F, -v name="$name" -v tgt="$tgt" 'NR > 1 { med[$1] = $4 * 1000; mn[$1] = $7 * 1000 } END {
    r = med["rg"] / med["usjsearch"]; need = (name == "seeds") ? 1 : 100
    printf "| %s | %.2f | %.2f | %.2f | %.2f | %.1fx | %s | %s |\n", name, med["usjsearch"], mn["usjsearch"],
           med["rg"], mn["rg"], r, tgt, (r >= need ? "yes" : "**no**") }' "$f"
done
echo
} > "$R.tmp"
mv "$R.tmp" "$R"
cat "$R"

# ---- daemon load benchmark (owned by the daemon work) -----------------------------
if [ -f bench/daemon.sh ]; then
  export BENCH_DATA=$DATA BENCH_OUT=$OUT BENCH_BIN=$BIN BENCH_BUILD=$BUILD BENCH_QUICK=$QUICK
  BENCH_KDOCS_INDEX=$(idx_path kdocs usj)
  export BENCH_SEED_INDEX=$SEED_INDEX BENCH_KDOCS_DIR=$KDOCS BENCH_KDOCS_INDEX
  log "running bench/daemon.sh (time limit ${BENCH_DAEMON_TIMEOUT:-1800} s)"
  timeout -k 10 "${BENCH_DAEMON_TIMEOUT:-1800}" bash bench/daemon.sh \
    || log "bench/daemon.sh failed or timed out (exit $?)"
fi
