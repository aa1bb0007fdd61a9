# tests/sh/editor_common.bash — shared set-up of the editor tests
# (editor_vim.sh, editor_nvim.sh, editor_emacs.sh): finds the programs, makes
# a temporary folder with a copy of the seeds and its own index, and removes
# it on exit. Sourced, not run (the runner only runs tests/sh/*.sh).
set -euo pipefail
root=${USJ_TEST_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
bin=${USJ_TEST_BIN:-$root/bin}
case $bin in /*) ;; *) bin="$root/$bin";; esac

fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed (scripts/deps.sh test)"; }

for p in usjsearch usjindex; do
  [ -x "$bin/$p" ] || fail "$bin/$p not built"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/usj-editor.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
mkdir "$tmp/work" "$tmp/home"
cp -r "$root/seeds" "$tmp/work/seeds"
(cd "$tmp/work" && "$bin/usjindex" -o "$tmp/work/.usjsearch.idx" seeds) \
  >"$tmp/index.log" 2>&1 || { cat "$tmp/index.log" >&2; fail "usjindex failed"; }
index="$tmp/work/.usjsearch.idx"
# Editors must not read the user's files nor a daemon the user runs.
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" \
       XDG_DATA_HOME="$tmp/home/.local/share" XDG_STATE_HOME="$tmp/home/.local/state" \
       XDG_RUNTIME_DIR="$tmp/home/run"
mkdir -p "$XDG_RUNTIME_DIR"; chmod 700 "$XDG_RUNTIME_DIR"
unset USJ_INDEX USJ_SERVER

# expect_hits FILE PHRASE LINE... — "FILE:LINE:COLUMN" per line, the column
# being the 1-based byte column of PHRASE in that line of the seed copy.
expect_hits() {
  local f=$1 phrase=$2 l; shift 2
  for l in "$@"; do
    LC_ALL=C awk -v L="$l" -v P="$phrase" -v F="$f" \
      'NR == L { i = index($0, P); if (!i) exit 1; print F ":" L ":" i; found = 1; exit }
       END { exit !found }' "$tmp/work/$f" || fail "$phrase not in $f:$l"
  done
}

s004=seeds/004_34c4a962b3f42fed.txt

# Daemon, when built: started on a temporary socket; stopped on exit.
# start_daemon private|default: on $tmp/usjsearchd.sock, or (default) on the
# default socket of the index (under our XDG_RUNTIME_DIR); sets $sock.
daemon_pid=
start_daemon() {
  [ -x "$bin/usjsearchd" ] || return 1
  local sockopt=(--socket "$tmp/usjsearchd.sock")
  [ "${1:-}" = default ] && sockopt=()
  "$bin/usjsearchd" --index "$index" "${sockopt[@]}" --foreground \
    >"$tmp/daemon.log" 2>&1 &
  daemon_pid=$!
  local i
  for i in $(seq 100); do
    if grep -q "ready" "$tmp/daemon.log"; then
      sock=$(sed -n 's/.*ready, listening on unix:\([^ ]*\).*/\1/p' "$tmp/daemon.log" | head -1)
      [ -S "$sock" ] && return 0
    fi
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$tmp/daemon.log" >&2
  fail "usjsearchd did not start"
}
stop_daemon() {
  if [ -n "$daemon_pid" ]; then
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=
  fi
}
cleanup() { stop_daemon; rm -rf "$tmp"; }

# daemon_queries — the daemon's count of queries served (STATS).
daemon_queries() {
  python3 - "$sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"STATS\nQUIT\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
for line in data.decode("utf-8", "replace").splitlines():
    if line.startswith("queries "):
        print(line.split()[1])
PY
}

# The daemon phase gives the client an index path that does not exist, so
# only answers from the daemon can pass (the client falls back to reading
# the index itself when no daemon answers).
absent_index() { printf '%s' "$tmp/work/absent.idx"; }

# run_vim_suite vim|nvim PHASE ARGS [INDEX] — tests/sh/editor_test.vim in the
# editor, headless, without stdin, bounded in time.
run_vim_suite() {
  local editor=$1 phase=$2 args=$3 idx=${4:-$index} out="$tmp/$1-$2.out" rc=0
  rm -rf "$tmp/vim"; cp -r "$root/editor/vim" "$tmp/vim"
  # shellcheck disable=SC2086
  export USJ_T_RTP="$tmp/vim" USJ_T_PROG="$bin/usjsearch" USJ_T_INDEX="$idx" \
    USJ_T_ARGS="$args" USJ_T_PHASE="$phase" USJ_T_OUT="$out" \
    USJ_T_S232="$(expect_hits "$s004" "Section 232" 2 5 24 29)" \
    USJ_T_SAFETY="$(expect_hits "$s004" "safety clause" 2 24)" \
    USJ_T_SEMI="$(cd "$tmp/work" && "$bin/usjsearch" --vimgrep --color=never \
                  --limit 100 --index "$index" $args semiconductors)"
  rm -f "$out"
  case $editor in
    vim)  (cd "$tmp/work" && timeout 120 vim -Nu NONE -i NONE -n -es \
             -S "$root/tests/sh/editor_test.vim" </dev/null) || rc=$? ;;
    nvim) (cd "$tmp/work" && timeout 120 nvim --headless -u NONE -i NONE -n \
             -S "$root/tests/sh/editor_test.vim" </dev/null) || rc=$? ;;
  esac
  [ -f "$out" ] && sed "s/^/[$editor $phase] /" "$out"
  [ "$rc" -eq 0 ] || fail "$editor ($phase) exited with $rc"
  [ "$(cat "$out")" = "checks done" ] || fail "$editor ($phase) checks failed"
}

# check_packadd vim|nvim — editor/vim works as an optional package.
check_packadd() {
  local editor=$1 out="$tmp/packadd-$1.out"
  mkdir -p "$tmp/pp/pack/usj/opt"
  ln -sfn "$root/editor/vim" "$tmp/pp/pack/usj/opt/usjsearch"
  local cmds=(-c "set packpath=$tmp/pp" -c 'packadd usjsearch'
              -c "call writefile([exists(':Usj'), exists(':LUsj'), exists('*usjsearch#search')], '$out')"
              -c 'qall!')
  rm -f "$out"
  case $editor in
    vim)  timeout 60 vim -Nu NONE -i NONE -n -es "${cmds[@]}" </dev/null || true ;;
    nvim) timeout 60 nvim --headless -u NONE -i NONE -n "${cmds[@]}" </dev/null || true ;;
  esac
  [ "$(tr '\n' ' ' <"$out" 2>/dev/null)" = "2 2 0 " ] || fail "$editor: packadd usjsearch: $(cat "$out" 2>/dev/null)"
  echo "[$editor] packadd usjsearch: ok"
}
