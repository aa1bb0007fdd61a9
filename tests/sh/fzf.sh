#!/usr/bin/env bash
# tests/sh/fzf.sh — the fzf recipe of docs/FZF.md: sources its `usjf`
# function with a stand-in fzf that records the arguments, then runs the
# recipe's reload and preview commands the way fzf would (fields
# substituted, through sh -c): the reload gives the client's --vimgrep hits
# of "Section 232", the preview prints the paragraph of each hit.
# shellcheck source-path=SCRIPTDIR source=editor_common.bash
source "$(dirname "$0")/editor_common.bash"

block=$(awk '/<!-- usjf:/ { on = 1; next } on && /^```sh/ { inb = 1; next }
             inb && /^```/ { exit } inb { print }' "$root/docs/FZF.md")
[ -n "$block" ] || fail "no usjf block in docs/FZF.md"
fzf_args=()
fzf() { fzf_args=("$@"); }
eval "$block"
PATH="$bin:$PATH"
cd "$tmp/work"
usjf '"Section 232"'
[ ${#fzf_args[@]} -gt 0 ] || fail "usjf did not call fzf"

# fzf's placeholders: {q} the query, {1} {2} fields split on ':' — quoted.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
subst() {
  local cmd=$1 query=$2 line=$3 f1 f2
  f1=${line%%:*}; f2=${line#*:}; f2=${f2%%:*}
  cmd=${cmd//\{q\}/$(q "$query")}; cmd=${cmd//\{1\}/$(q "$f1")}; cmd=${cmd//\{2\}/$(q "$f2")}
  printf '%s' "$cmd"
}
reload='' preview='' disabled=''
for ((i = 0; i < ${#fzf_args[@]}; i++)); do
  a=${fzf_args[i]}
  case $a in
    --disabled) disabled=1 ;;
    --bind) b=${fzf_args[i+1]}; case $b in change:reload:*) reload=${b#change:reload:};; esac ;;
    --preview) preview=${fzf_args[i+1]} ;;
  esac
done
[ -n "$disabled" ] || fail "fzf's own filtering is not disabled"
# The real fzf accepts every option and binding (filter mode parses them all
# without a terminal; status 2 means a bad option).
if command -v fzf >/dev/null; then
  rc=0; printf 'x:1:1:y\n' | command fzf --filter y "${fzf_args[@]}" >/dev/null 2>"$tmp/fzf.err" || rc=$?
  [ "$rc" -ne 2 ] || fail "fzf rejects the recipe: $(cat "$tmp/fzf.err")"
fi
[ -n "$reload" ] || fail "no change:reload binding"
[ -n "$preview" ] || fail "no preview"

got=$(sh -c "$(subst "$reload" '"Section 232"' x:1)")
want=$(usjsearch --vimgrep --color=never --limit 200 '"Section 232"')
[ "$got" = "$want" ] || fail "reload output differs from the client: $got"
[ "$(printf '%s\n' "$got" | cut -d: -f1,2 | sort)" = \
  "$(printf '%s\n' "$s004:2" "$s004:24" "$s004:29" "$s004:5" | sort)" ] \
  || fail "reload hits: $got"
# An incomplete query gives an empty list, not an error.
[ -z "$(sh -c "$(subst "$reload" '"Section' x:1)")" ] || fail "open quote not empty"
sh -c "$(subst "$reload" '"Section' x:1)" || fail "open quote: reload failed"

while IFS= read -r hit; do
  file=${hit%%:*}; line=${hit#*:}; line=${line%%:*}
  out=$(sh -c "$(subst "$preview" '' "$hit")")
  [ "$out" = "$(sed -n "${line}p" "$file")" ] || fail "preview of $file:$line: $out"
done <<<"$got"

# A hard-wrapped paragraph is previewed whole.
mkdir wrapped
printf 'Title line\n\nshort wrapped line one about tariffs here\nsecond line of it, also short\nthird and last\n\nnext paragraph\n' >wrapped/a.txt
out=$(sh -c "$(subst "$preview" '' "wrapped/a.txt:4:1:x")")
[ "$out" = "$(sed -n 3,5p wrapped/a.txt)" ] || fail "wrapped preview: $out"
# End to end in the real fzf on a pseudo-terminal (script(1)), through a
# daemon on its default socket: type the query, wait, press Enter; the
# recipe opens $EDITOR at the client's first hit.
if command -v fzf >/dev/null && command -v script >/dev/null && start_daemon default; then
  printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s/opened"\n' "$tmp" >"$tmp/editor"
  chmod +x "$tmp/editor"
  printf '%s\n' "$block" >"$tmp/usjf.sh"
  before=$(daemon_queries)
  { sleep 2; printf '"Section 232"'; sleep 3; printf '\r'; sleep 2; } |
    EDITOR="$tmp/editor" TERM=xterm timeout 30 \
    script -qefc "bash -c 'source \"$tmp/usjf.sh\"; usjf'" /dev/null >"$tmp/fzf.log" 2>&1 || true
  first=$(usjsearch --vimgrep --no-server -n 1 '"Section 232"' | cut -d: -f1,2)
  [ -f "$tmp/opened" ] || fail "fzf did not open the editor"
  [ "$(tr '\n' ' ' <"$tmp/opened")" = "+${first#*:} ${first%%:*} " ] \
    || fail "fzf opened $(tr '\n' ' ' <"$tmp/opened"), the first hit is $first"
  after=$(daemon_queries)
  [ "${after:-0}" -gt "${before:-0}" ] || fail "the reloads did not go through the daemon"
  stop_daemon
  echo "fzf end to end: Enter opened $first; the daemon answered $((after - before)) queries"
fi
echo "fzf recipe: ok"
