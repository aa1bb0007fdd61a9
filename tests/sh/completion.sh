#!/usr/bin/env bash
# tests/sh/completion.sh — editor/completion/usjsearch.bash: for each
# program, completing "-" offers exactly the options its --help prints, and
# option values are completed (--color, --log-level, --index files,
# --opt=value, file: in queries).
set -euo pipefail
root=${USJ_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${USJ_TEST_BIN:-$root/bin}
case $bin in /*) ;; *) bin="$root/$bin";; esac
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/usj-compl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# shellcheck source-path=SCRIPTDIR/../.. source=editor/completion/usjsearch.bash
source "$root/editor/completion/usjsearch.bash"
complete -p usjsearch usjindex usjsearchd >/dev/null || fail "not registered"

# comp WORD... — what completing the last word of the line gives, sorted.
comp() {
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _usj_complete "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
}

for prog in usjsearch usjindex usjsearchd; do
  [ -x "$bin/$prog" ] || fail "$bin/$prog not built"
  help=$("$bin/$prog" --help 2>&1) || fail "$prog --help failed"
  # options of --help; not "-word" of the query language nor "nc -U" of an
  # example
  want=$(grep -oE -- '(^|[][[:space:],|])--?[A-Za-z][A-Za-z0-9-]*' <<<"${help//nc -U/}" \
         | sed -E 's/^[][[:space:],|]//' | grep -vx -- '-word' | sort -u | tr '\n' ' ' | sed 's/ $//')
  got=$(comp "$prog" -)
  [ "$got" = "$want" ] || fail "$prog: completion of '-' is
  [$got], --help has
  [$want]"
  echo "$prog: $(wc -w <<<"$got") options completed"
done

[ "$(comp usjsearch --color '')" = "always auto never" ] || fail "--color values"
[ "$(comp usjsearch --color = n)" = "never" ] || fail "--color=n"
[ "$(comp usjsearch --color=al)" = "--color=always" ] || fail "--color=al in one word"
[ "$(comp usjsearchd --log-level '')" = "debug error info warn" ] || fail "--log-level"
[ "$(comp usjindex --split '')" = "auto block line" ] || fail "--split"
[ "$(comp usjindex -g '')" = "" ] || fail "--glob value: nothing offered"
[ "$(comp usjsearch --vim)" = "--vimgrep" ] || fail "--vim"
[ "$(comp usjsearch -n '')" = "" ] || fail "-n value: numbers, nothing offered"
mkdir "$tmp/d" "$tmp/d/sub"; : >"$tmp/d/a.idx"; : >"$tmp/d/b.txt"
cd "$tmp/d"
[ "$(comp usjsearch --index '')" = "a.idx sub" ] || fail "--index: $(comp usjsearch --index '')"
[ "$(comp usjindex --stats '')" = "a.idx sub" ] || fail "--stats"
[ "$(comp usjindex -o x '')" = "a.idx b.txt sub" ] || fail "corpus paths"
[ "$(comp usjsearch tariff file:b)" = "file:b.txt" ] || fail "file: in a query"
[ "$(comp usjsearch ti)" = "title:" ] || fail "title:"
[ "$(comp usjsearch tariff)" = "" ] || fail "a plain word gets nothing"
echo "completion: ok"
