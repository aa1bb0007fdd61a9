#!/usr/bin/env bash
# tests/sh/manpages.sh — the man pages in docs/man render with groff and
# man -l without a single warning, and each mentions every option that its
# program's --help prints.
set -euo pipefail
root=${USJ_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${USJ_TEST_BIN:-$root/bin}
case $bin in /*) ;; *) bin="$root/$bin";; esac
fail() { echo "FAIL: $*" >&2; exit 1; }
export LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat PAGER=cat
tmp=$(mktemp -d "${TMPDIR:-/tmp}/usj-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for page in usjsearch.1 usjindex.1 usjsearchd.8; do
  src="$root/docs/man/$page"
  prog=${page%.*}
  [ -f "$src" ] || fail "$src missing"
  head -1 "$src" | grep -q "^\.\\\\\"" || fail "$page does not open with a comment"
  grep -q "^\.TH ${prog^^} ${page##*.} " "$src" || fail "$page: bad .TH"
  # groff with every warning enabled: nothing on stderr.
  warn=$(groff -man -Tutf8 -ww -z "$src" 2>&1) || fail "$page: groff failed"
  [ -z "$warn" ] || fail "$page: groff warnings: $warn"
  # man -l renders it, with its own warnings on.
  man --warnings -l "$src" >"$tmp/$page.txt" 2>"$tmp/$page.err" || fail "$page: man -l failed"
  [ ! -s "$tmp/$page.err" ] || fail "$page: man -l: $(cat "$tmp/$page.err")"
  col -b <"$tmp/$page.txt" >"$tmp/$page.plain"
  for sec in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" "SEE ALSO"; do
    grep -q "^$sec" "$tmp/$page.plain" || fail "$page: no $sec section"
  done
  # Every option of --help is in the page.
  [ -x "$bin/$prog" ] || fail "$bin/$prog not built"
  "$bin/$prog" --help >"$tmp/$prog.help" 2>&1 || fail "$prog --help failed"
  opts=$(grep -oE '(^|[][[:space:],|])--?[A-Za-z][A-Za-z0-9-]*' "$tmp/$prog.help" \
         | sed -E 's/^[][[:space:],|]//' | sort -u)
  [ -n "$opts" ] || fail "$prog --help prints no option"
  n=0
  for o in $opts; do
    grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|$)" "$tmp/$page.plain" \
      || fail "$page does not mention $o (from $prog --help)"
    n=$((n + 1))
  done
  echo "$page: renders cleanly, mentions the $n options of --help"
done
