#!/usr/bin/env bash
# tests/sh/daemon_client.sh — usjsearchd as a user runs it: daemonized (no
# --foreground) on its default socket under a private XDG_RUNTIME_DIR, the
# starting process returning only once it is ready; usjsearch finding it by
# itself (same output as --no-server, and STATS proves the daemon answered),
# USJ_SERVER, a second daemon refused, SIGHUP reload, SIGTERM cleanup, the
# client falling back to the index once the daemon is gone, and when a daemon
# at its --max-conns turns it away with ERR BUSY.
set -uo pipefail
bin=${USJ_TEST_BIN:?}; root=${USJ_TEST_ROOT:?}
tmp=$(mktemp -d)
pid="" bpid="" hpid=""
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  for p in "$pid" "$bpid" "$hpid"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
check() { # name, condition result
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
export NO_COLOR=1
unset USJ_SERVER USJ_INDEX
mkdir -m 700 "$tmp/run"
export XDG_RUNTIME_DIR=$tmp/run
cd "$root" && "$bin/usjindex" -o "$tmp/seeds.idx" seeds >/dev/null 2>&1
check "index built" "$([ -f "$tmp/seeds.idx" ]; echo $?)"

# daemonized: returns 0 once ready, socket under XDG_RUNTIME_DIR, pidfile
timeout 20 "$bin/usjsearchd" --index "$tmp/seeds.idx" --pidfile "$tmp/d.pid" \
  2>"$tmp/d.log"
check "daemonized start exits 0" $?
pid=$(cat "$tmp/d.pid" 2>/dev/null)
check "pidfile names a live process" "$([ -n "$pid" ] && kill -0 "$pid"; echo $?)"
sock=$(find "$tmp/run" -name 'usjsearchd-*.sock' | head -1)
check "default socket under XDG_RUNTIME_DIR" "$([ -S "$sock" ]; echo $?)"
check "socket mode 0600" "$([ "$(stat -c %a "$sock")" = 600 ]; echo $?)"
check "ready line logged" "$(grep -q 'ready, listening on unix:' "$tmp/d.log"; echo $?)"

# the client finds it without being told, with the same output
for fmt in "" --vimgrep --json --count; do
  a=$("$bin/usjsearch" --index "$tmp/seeds.idx" --no-server $fmt '"safety clause"' | sed 's/"took_us":[0-9]*//')
  b=$("$bin/usjsearch" --index "$tmp/seeds.idx" $fmt '"safety clause"' | sed 's/"took_us":[0-9]*//')
  check "same output ${fmt:-plain} through the daemon" "$([ -n "$a" ] && [ "$a" = "$b" ]; echo $?)"
done
# --total-upto travels as TOTALUPTO: the same lower-bound total both ways
a=$("$bin/usjsearch" --index "$tmp/seeds.idx" --no-server --json -n 1 --total-upto 1 'japan trade' | sed 's/"took_us":[0-9]*//')
b=$("$bin/usjsearch" --index "$tmp/seeds.idx" --json -n 1 --total-upto 1 'japan trade' | sed 's/"took_us":[0-9]*//')
check "same lower-bound total through the daemon (--total-upto)" \
  "$(grep -q '"total_exact":false' <<<"$b" && [ "$a" = "$b" ]; echo $?)"
b=$(USJ_SERVER="unix:$sock" "$bin/usjsearch" --index /nonexistent.idx --count '"Section 232"')
check "USJ_SERVER used (index absent, answer 4)" "$([ "$b" = 4 ]; echo $?)"
stats=$(python3 - "$sock" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
s.sendall(b"STATS\nQUIT\n"); out = b""
while not out.endswith(b"OK BYE\n"):
    d = s.recv(65536)
    if not d: break
    out += d
print(out.decode())
EOF
)
q=$(sed -n 's/^queries //p' <<<"$stats")
check "daemon answered the client ($q queries)" "$([ "${q:-0}" -ge 5 ]; echo $?)"

# a second daemon does not steal the socket
timeout 20 "$bin/usjsearchd" --index "$tmp/seeds.idx" 2>"$tmp/d2.log"
check "second daemon refused with status 2" "$([ $? -eq 2 ]; echo $?)"
check "first daemon still alive" "$(kill -0 "$pid"; echo $?)"

# SIGHUP reloads a rebuilt index
cd "$root" && "$bin/usjindex" -o "$tmp/seeds.idx" seeds >/dev/null 2>&1
kill -HUP "$pid"
for _ in $(seq 50); do grep -q 'reloaded' "$tmp/d.log" && break; sleep 0.1; done
check "SIGHUP reload logged" "$(grep -q 'reloaded' "$tmp/d.log"; echo $?)"
b=$("$bin/usjsearch" --index "$tmp/seeds.idx" --count '"Section 232"')
check "answers after reload" "$([ "$b" = 4 ]; echo $?)"

# SIGTERM: exit, socket and pidfile removed; the client falls back
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
check "daemon exited on SIGTERM" "$(! kill -0 "$pid" 2>/dev/null; echo $?)"
pid=""
check "socket removed" "$([ ! -e "$sock" ]; echo $?)"
check "pidfile removed" "$([ ! -e "$tmp/d.pid" ]; echo $?)"
b=$("$bin/usjsearch" --index "$tmp/seeds.idx" --count '"Section 232"')
check "client falls back to the index" "$([ "$b" = 4 ]; echo $?)"
# a daemon at --max-conns answers ERR BUSY and closes: the client reads the
# index itself, with the same output and status, on the socket and on TCP
"$bin/usjsearchd" --index "$tmp/seeds.idx" --socket "$tmp/busy.sock" \
  --listen 127.0.0.1:0 --max-conns 1 --foreground 2>"$tmp/busy.log" &
bpid=$!
for _ in $(seq 100); do grep -q 'ready, listening' "$tmp/busy.log" && break; sleep 0.05; done
bport=$(grep -o 'tcp:127.0.0.1:[0-9]*' "$tmp/busy.log" | head -1 | cut -d: -f3)
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
s.sendall(b"PING\n"); assert s.recv(100) == b"OK PONG\n"
open(sys.argv[2], "w").close()
time.sleep(60)
' "$tmp/busy.sock" "$tmp/holding" &
hpid=$!
for _ in $(seq 100); do [ -e "$tmp/holding" ] && break; sleep 0.05; done
check "a client holds the only connection" "$([ -e "$tmp/holding" ]; echo $?)"
want=$("$bin/usjsearch" --index "$tmp/seeds.idx" --no-server '"safety clause"')
for srv in "unix:$tmp/busy.sock" "127.0.0.1:$bport"; do
  for i in 1 2 3; do
    got=$(USJ_SERVER=$srv "$bin/usjsearch" --index "$tmp/seeds.idx" '"safety clause"' 2>"$tmp/busy.err")
    st=$?
    check "ERR BUSY from $srv: the client reads the index (run $i)" \
      "$([ $st -eq 0 ] && [ -n "$want" ] && [ "$got" = "$want" ]; echo $?)"
  done
  got=$("$bin/usjsearch" --server "$srv" --index "$tmp/seeds.idx" '"safety clause"' 2>"$tmp/busy.err")
  st=$?
  check "ERR BUSY from --server $srv: the client reads the index" \
    "$([ $st -eq 0 ] && [ "$got" = "$want" ]; echo $?)"
done
check "the daemon did turn the clients away" \
  "$(grep -q 'max-conns 1 reached' "$tmp/busy.log"; echo $?)"
kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null
kill -TERM "$bpid"; wait "$bpid" 2>/dev/null
bpid="" hpid=""
exit $fail
