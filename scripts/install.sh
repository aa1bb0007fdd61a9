#!/usr/bin/env bash
# scripts/install.sh — `make install` / `make uninstall`: puts the programs,
# man pages, Vim/Neovim and Emacs front ends, bash completion, systemd user
# unit and documents under $DESTDIR$PREFIX, and removes exactly those files.
#   PREFIX=/usr/local DESTDIR= BIN=bin bash scripts/install.sh install|uninstall
# BIN (the folder of the built programs) is relative to the repository root
# unless absolute; make passes the BIN given on its command line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BIN=${BIN:-bin}
case $BIN in /*) ;; *) BIN="$root/$BIN";; esac
case $PREFIX in /*) ;; *) echo "install: PREFIX must be absolute: $PREFIX" >&2; exit 2;; esac
dest="$DESTDIR$PREFIX"

programs=(usjsearch usjindex usjsearchd)
vim_dirs=(share/vim/vimfiles/pack/usjsearch/start/usjsearch
          share/nvim/site/pack/usjsearch/start/usjsearch)
vim_files=(plugin/usjsearch.vim autoload/usjsearch.vim doc/usjsearch.txt)
completion_dir=share/bash-completion/completions
# source (repository) -> destination (under PREFIX), mode 0644
data=(
  "docs/man/usjsearch.1:share/man/man1/usjsearch.1"
  "docs/man/usjindex.1:share/man/man1/usjindex.1"
  "docs/man/usjsearchd.8:share/man/man8/usjsearchd.8"
  "editor/emacs/usjsearch.el:share/emacs/site-lisp/usjsearch.el"
  "editor/completion/usjsearch.bash:$completion_dir/usjsearch"
  "docs/FZF.md:share/doc/usjsearch/FZF.md"
  "docs/QUERY.md:share/doc/usjsearch/QUERY.md"
  "docs/PROTOCOL.md:share/doc/usjsearch/PROTOCOL.md"
  "README.md:share/doc/usjsearch/README.md"
)
unit=lib/systemd/user/usjsearchd.service

say() { printf '%s %s\n' "$1" "$2"; }

do_install() {
  local p n=0 pair src dst d f
  for p in "${programs[@]}"; do
    if [ -x "$BIN/$p" ]; then
      install -D -m 0755 "$BIN/$p" "$dest/bin/$p"; say install "$dest/bin/$p"; n=$((n + 1))
    else
      echo "install: warning: $BIN/$p is not built, not installed" >&2
    fi
  done
  [ "$n" -gt 0 ] || { echo "install: no program in $BIN: run make first" >&2; exit 2; }
  for pair in "${data[@]}"; do
    src=${pair%%:*}; dst=${pair#*:}
    if [ ! -f "$src" ] && [ "${dst#share/doc/}" != "$dst" ]; then
      echo "install: warning: $src is missing, not installed" >&2; continue
    fi
    install -D -m 0644 "$src" "$dest/$dst"; say install "$dest/$dst"
  done
  # bash-completion loads a file named after the command.
  for p in usjindex usjsearchd; do
    ln -sf usjsearch "$dest/$completion_dir/$p"; say link "$dest/$completion_dir/$p"
  done
  for d in "${vim_dirs[@]}"; do
    for f in "${vim_files[@]}"; do
      install -D -m 0644 "editor/vim/$f" "$dest/$d/$f"
    done
    say install "$dest/$d"
    helptags "$dest/$d/doc"
  done
  install -d "$dest/${unit%/*}"
  sed "s|@BINDIR@|$PREFIX/bin|g" editor/systemd/usjsearchd.service >"$dest/$unit"
  chmod 0644 "$dest/$unit"; say install "$dest/$unit"
}

# :helptags with whichever editor is there (:help usjsearch needs doc/tags).
helptags() {
  local doc=$1
  if command -v vim >/dev/null 2>&1; then
    vim -Nu NONE -i NONE -n -es -c "helptags $doc" -c 'qall!' </dev/null >/dev/null 2>&1 || true
  elif command -v nvim >/dev/null 2>&1; then
    nvim --headless -u NONE -i NONE -n -c "helptags $doc" -c 'qall!' </dev/null >/dev/null 2>&1 || true
  fi
}

rm_file() {
  if [ -e "$1" ] || [ -L "$1" ]; then rm -f "$1"; say remove "$1"; fi
}

# Remove DIR and its parents up to (not including) STOP while they are empty.
prune() {
  local d=$1 stop=$2
  while [ "$d" != "$stop" ] && [ -d "$d" ] && rmdir "$d" 2>/dev/null; do
    d=${d%/*}
  done
}

do_uninstall() {
  local p pair d f
  for p in "${programs[@]}"; do rm_file "$dest/bin/$p"; done
  for pair in "${data[@]}"; do rm_file "$dest/${pair#*:}"; done
  for p in usjindex usjsearchd; do rm_file "$dest/$completion_dir/$p"; done
  for d in "${vim_dirs[@]}"; do
    for f in "${vim_files[@]}" doc/tags; do rm_file "$dest/$d/$f"; done
    for f in plugin autoload doc; do prune "$dest/$d/$f" "$dest/$d"; done
    # our own folders: .../pack/usjsearch/start/usjsearch
    prune "$dest/$d" "$dest/${d%/pack/*}/pack"
  done
  rm_file "$dest/$unit"
  prune "$dest/share/doc/usjsearch" "$dest/share/doc"
  # In a staging folder, also the empty standard folders we created.
  if [ -n "$DESTDIR" ] && [ -d "$dest" ]; then
    find "$dest" -depth -type d -empty -delete
  fi
}

case ${1:-} in
  install)   do_install ;;
  uninstall) do_uninstall ;;
  *) echo "usage: PREFIX=... DESTDIR=... $0 install|uninstall" >&2; exit 2 ;;
esac
