#!/usr/bin/env bash
# tests/sh/install.sh — scripts/install.sh, the way `make install` and
# `make uninstall` run it: into a temporary DESTDIR, every file in place
# (programs runnable, man pages readable by man, Vim package with help tags,
# Emacs file, bash completion and its links, systemd unit pointing at the
# installed daemon); then uninstall leaves no file behind.
set -euo pipefail
root=${USJ_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${USJ_TEST_BIN:-$root/bin}
case $bin in /*) ;; *) bin="$root/$bin";; esac
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/usj-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest="$tmp/dest"; prefix=/opt/usj
export HOME="$tmp/home"; mkdir "$HOME"

# The Makefile's targets call the script with exactly these variables.
# shellcheck disable=SC2016
grep -q 'PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" bash scripts/install.sh install' "$root/Makefile" \
  || fail "Makefile install target does not run scripts/install.sh"
# shellcheck disable=SC2016
grep -q 'PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" bash scripts/install.sh uninstall' "$root/Makefile" \
  || fail "Makefile uninstall target does not run scripts/install.sh"

PREFIX=$prefix DESTDIR=$dest BIN=$bin bash "$root/scripts/install.sh" install >"$tmp/log" \
  || { cat "$tmp/log"; fail "install failed"; }
p="$dest$prefix"
for prog in usjsearch usjindex usjsearchd; do
  if [ -x "$bin/$prog" ]; then
    [ -x "$p/bin/$prog" ] || fail "$prog not installed"
    cmp -s "$bin/$prog" "$p/bin/$prog" || fail "$prog differs"
  fi
done
"$p/bin/usjsearch" --help >/dev/null || fail "installed usjsearch does not run"
for f in share/man/man1/usjsearch.1 share/man/man1/usjindex.1 share/man/man8/usjsearchd.8 \
         share/emacs/site-lisp/usjsearch.el share/bash-completion/completions/usjsearch \
         share/doc/usjsearch/FZF.md \
         lib/systemd/user/usjsearchd.service; do
  [ -f "$p/$f" ] || fail "$f not installed"
  [ "$(stat -c %a "$p/$f")" = 644 ] || fail "$f: mode $(stat -c %a "$p/$f")"
done
for c in usjindex usjsearchd; do
  [ "$(readlink "$p/share/bash-completion/completions/$c")" = usjsearch ] \
    || fail "completion link for $c"
done
MANPATH="$p/share/man" man -w usjsearch >/dev/null 2>&1 || fail "man usjsearch not found in MANPATH"
MANPATH="$p/share/man" man -w 8 usjsearchd >/dev/null 2>&1 || fail "man 8 usjsearchd not found"
for d in share/vim/vimfiles/pack/usjsearch/start/usjsearch \
         share/nvim/site/pack/usjsearch/start/usjsearch; do
  for f in plugin/usjsearch.vim autoload/usjsearch.vim doc/usjsearch.txt; do
    cmp -s "$root/editor/vim/$f" "$p/$d/$f" || fail "$d/$f"
  done
  if command -v vim >/dev/null; then
    grep -q '^:Usj	' "$p/$d/doc/tags" || fail "$d/doc/tags has no :Usj"
  fi
done
# The installed Vim package loads through 'packpath' alone.
if command -v vim >/dev/null; then
  out=$(timeout 60 vim -Nu NONE -i NONE -n -es \
        -c "set packpath=$p/share/vim/vimfiles" -c 'packloadall' \
        -c 'call writefile([exists(":Usj"), exists(":LUsj")], "/dev/stdout")' \
        -c 'qall!' </dev/null) || fail "vim with the installed package"
  [ "$(tr "\n" " " <<<"$out")" = "2 2 " ] || fail "installed package does not define :Usj/:LUsj: $out"
fi
# The installed Emacs file loads from site-lisp.
if command -v emacs >/dev/null; then
  timeout 60 emacs --batch -Q -L "$p/share/emacs/site-lisp" -l usjsearch \
    --eval '(unless (fboundp (quote usjsearch)) (kill-emacs 1))' </dev/null \
    || fail "emacs cannot load the installed usjsearch.el"
fi
unit="$p/lib/systemd/user/usjsearchd.service"
grep -q "^ExecStart=$prefix/bin/usjsearchd " "$unit" || fail "unit ExecStart: $(grep ExecStart "$unit")"
! grep -q '@BINDIR@' "$unit" || fail "unit still has @BINDIR@"
if command -v systemd-analyze >/dev/null && [ -x "$p/bin/usjsearchd" ]; then
  # verify wants the ExecStart program at its real path: use a copy whose
  # ExecStart points into DESTDIR.
  mkdir -p "$tmp/units"
  sed "s|^ExecStart=$prefix|ExecStart=$p|" "$unit" >"$tmp/units/usjsearchd.service"
  out=$(systemd-analyze verify --man=no "$tmp/units/usjsearchd.service" 2>&1) \
    || fail "systemd-analyze verify: $out"
fi
# The unit's command line, run as systemd would (%h = HOME, ${USJ_INDEX}
# from Environment=), serves ~/.usjsearch.idx on the default socket, where
# the installed client finds it without being told.
if [ -x "$p/bin/usjsearchd" ] && [ -x "$p/bin/usjindex" ]; then
  export XDG_RUNTIME_DIR="$tmp/run"; mkdir -m 700 "$XDG_RUNTIME_DIR"
  unset USJ_SERVER
  mkdir "$HOME/notes"; cp -r "$root/seeds" "$HOME/notes/"
  (cd "$HOME/notes" && "$p/bin/usjindex" -q -o "$HOME/.usjsearch.idx" seeds) \
    || fail "usjindex into ~/.usjsearch.idx"
  env_line=$(sed -n 's/^Environment=//p' "$unit")
  exec_line=$(sed -n 's/^ExecStart=//p' "$unit")
  env_line=${env_line//%h/$HOME}
  USJ_INDEX=${env_line#USJ_INDEX=}
  [ "$USJ_INDEX" = "$HOME/.usjsearch.idx" ] || fail "unit index: $env_line"
  exec_line=${exec_line//\$\{USJ_INDEX\}/$USJ_INDEX}
  exec_line=${exec_line/#$prefix/$p}
  # shellcheck disable=SC2086
  $exec_line >"$tmp/daemon.log" 2>&1 &
  dpid=$!
  for _ in $(seq 100); do grep -q ready "$tmp/daemon.log" && break; sleep 0.1; done
  grep -q ready "$tmp/daemon.log" || { kill "$dpid"; cat "$tmp/daemon.log"; fail "unit command did not start"; }
  sock=$(ls "$XDG_RUNTIME_DIR"/usjsearchd-*.sock) || { kill "$dpid"; fail "no default socket"; }
  hits=$(cd "$HOME/notes" && USJ_INDEX="$USJ_INDEX" "$p/bin/usjsearch" --vimgrep '"Section 232"' | cut -d: -f1,2 | LC_ALL=C sort)
  queries=$(python3 - "$sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"STATS\nQUIT\n"); data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
for line in data.decode().splitlines():
    if line.startswith("queries "): print(line.split()[1])
PY
)
  kill "$dpid"; wait "$dpid" || true
  [ "$hits" = "$(printf 'seeds/004_34c4a962b3f42fed.txt:%s\n' 2 24 29 5)" ] || fail "client through the unit's daemon: $hits"
  [ "${queries:-0}" -ge 1 ] || fail "the daemon did not answer the client (queries=$queries)"
  [ ! -e "$sock" ] || fail "socket left after SIGTERM"
  echo "unit command: daemon on the default socket answered the client"
fi
# bash completion from the installed file.
out=$(bash -c 'source "$1"; COMP_WORDS=(usjsearch --vim); COMP_CWORD=1
               _usj_complete usjsearch --vim usjsearch; echo "${COMPREPLY[*]}"' _ \
      "$p/share/bash-completion/completions/usjsearch")
[ "$out" = "--vimgrep" ] || fail "installed completion: $out"

PREFIX=$prefix DESTDIR=$dest BIN=$bin bash "$root/scripts/install.sh" uninstall >"$tmp/log" \
  || { cat "$tmp/log"; fail "uninstall failed"; }
left=$(find "$dest" -mindepth 1 \( -type f -o -type l \) 2>/dev/null || true)
[ -z "$left" ] || fail "left after uninstall: $left"
leftdirs=$(find "$dest" -mindepth 1 -type d 2>/dev/null | grep -v "^$dest/opt$" || true)
[ -z "$leftdirs" ] || fail "folders left after uninstall: $leftdirs"
# Uninstalling twice is harmless.
PREFIX=$prefix DESTDIR=$dest BIN=$bin bash "$root/scripts/install.sh" uninstall >/dev/null \
  || fail "second uninstall failed"
echo "install: ok"
