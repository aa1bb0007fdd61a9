#!/usr/bin/env bash
# tests/sh/client.sh — the usjsearch program on an index of the seeds built
# with usjindex in a temp folder: exit status (0 hits, 1 none, 2 error),
# --vimgrep lines, --json (every line parses; hits then a summary), --count,
# relative/absolute paths, query errors with column and caret, missing index.
set -uo pipefail
bin=${USJ_TEST_BIN:?}; root=${USJ_TEST_ROOT:?}
S=$bin/usjsearch
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name, condition result
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
cp -r "$root/seeds" "$tmp/seeds"
cd "$tmp" && "$bin/usjindex" seeds >/dev/null 2>&1
check "usjindex builds .usjsearch.idx" $([ -f .usjsearch.idx ]; echo $?)
export NO_COLOR=1

# exit status
"$S" '"Section 232"' >/dev/null; check "hits exit 0" $([ $? -eq 0 ]; echo $?)
"$S" zzzqqqxx >/dev/null; check "no hits exit 1" $([ $? -eq 1 ]; echo $?)
"$S" 'a OR' >/dev/null 2>&1; check "syntax error exit 2" $([ $? -eq 2 ]; echo $?)
"$S" >/dev/null 2>&1; check "no query exit 2" $([ $? -eq 2 ]; echo $?)
"$S" --limit x japan >/dev/null 2>&1; check "bad option value exit 2" $([ $? -eq 2 ]; echo $?)
"$S" --bogus japan >/dev/null 2>&1; check "unknown option exit 2" $([ $? -eq 2 ]; echo $?)

# --count and exact results
out=$("$S" --count '"Section 232"'); check "--count Section 232 = 4" $([ "$out" = 4 ]; echo $?)
out=$("$S" '$1t..' --count); check "--count after the query" $([ "$out" = 6 ]; echo $?)
out=$("$S" --count japan -tariff); a=$("$S" --count japan); b=$("$S" --count japan tariff)
check "-word after words excludes" $([ "$out" -eq $((a - b)) ]; echo $?)

# --vimgrep: path:line:column:text, the column pointing at the match
out=$("$S" --vimgrep '"safety clause"')
check "--vimgrep two lines" $([ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]; echo $?)
ok=0
while IFS= read -r l; do
  [[ $l =~ ^(seeds/004_34c4a962b3f42fed\.txt):([0-9]+):([0-9]+):(.*)$ ]] || { ok=1; break; }
  line=${BASH_REMATCH[2]}; col=${BASH_REMATCH[3]}; text=${BASH_REMATCH[4]}
  src=$(sed -n "${line}p" seeds/004_34c4a962b3f42fed.txt)
  [ "$text" = "$src" ] || ok=1
  frag=$(LC_ALL=C; printf '%s' "${src:$((col - 1)):13}")
  [ "$(printf '%s' "$frag" | tr A-Z a-z)" = "safety clause" ] || ok=1
done <<<"$out"
check "--vimgrep line, column and text match the file" $ok
lines=$(printf '%s\n' "$out" | cut -d: -f2 | sort -n | tr '\n' ' ')
check "--vimgrep lines 2 24" $([ "$lines" = "2 24 " ]; echo $?)

# --json: every line parses; hits, then one summary
"$S" --json -n 3 japan >json.out
python3 - json.out <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(objs) == 4, objs
for o in objs[:3]:
    assert o["type"] == "hit" and o["v"] == 1
    for k in ("path", "line", "column", "score", "text", "title", "matches"):
        assert k in o, k
    t = o["text"].encode("utf-8")
    for s, e in o["matches"]:
        assert 0 <= s < e <= len(t)
        assert t[s:e].decode("utf-8").lower().startswith("japan"), t[s:e]
s = objs[3]
assert s["type"] == "summary" and s["v"] == 1 and s["total"] >= 3 and "took_us" in s
assert s["total_exact"] is True, s
PY
check "--json parses" $?

# --total-upto: the same hits; the total exact below the threshold, else a
# lower bound flagged "total_exact": false
"$S" --json -n 2 the >json.exact
"$S" --json -n 2 --total-upto 1 the >json.upto1
"$S" --json -n 2 --total-upto 100000 the >json.upto_big
"$S" --json -n 2 --total-upto 1 steel OR energy >json.or_upto1
"$S" --json -n 2 steel OR energy >json.or_exact
python3 - json.exact json.upto1 json.upto_big json.or_exact json.or_upto1 <<'PY'
import json, sys
def load(p):
    objs = [json.loads(l) for l in open(p, encoding="utf-8")]
    return [o for o in objs if o["type"] == "hit"], objs[-1]
ex, sx = load(sys.argv[1])
u1, s1 = load(sys.argv[2])
ub, sb = load(sys.argv[3])
oe, soe = load(sys.argv[4])
o1, so1 = load(sys.argv[5])
key = lambda hs: [(h["path"], h["line"], h["score"]) for h in hs]
assert key(ex) == key(u1) == key(ub) and key(oe) == key(o1)
assert sx["total_exact"] is True and sb["total_exact"] is True
assert sb["total"] == sx["total"]
assert so1["total_exact"] is False and 1 <= so1["total"] <= soe["total"], (so1, soe)
assert s1["total"] <= sx["total"]
assert s1["total_exact"] or s1["total"] >= 1
PY
check "--total-upto: same hits, exact or lower-bound total" $?
"$S" --total-upto x japan >/dev/null 2>err.out
check "--total-upto x is an error" $([ $? -eq 2 ] && grep -q "bad --total-upto" err.out; echo $?)

# paths relative to the cwd, --absolute
mkdir -p sub && cd sub
out=$("$S" --vimgrep '"Section 232"' | head -1)
check "relative path from a subfolder" $([[ $out == ../seeds/004_* ]]; echo $?)
out=$("$S" --vimgrep --absolute '"Section 232"' | head -1)
check "--absolute" $([[ $out == "$tmp"/seeds/004_* || $out == "$(cd "$tmp" && pwd -P)"/seeds/004_* ]]; echo $?)
cd "$tmp"

# plain output: title heading then path:line: text
out=$("$S" --color=never -n 1 '"Section 232"')
check "plain heading and hit" $([[ $(printf '%s\n' "$out" | sed -n 2p) == seeds/004_34c4a962b3f42fed.txt:*:\ * ]]; echo $?)
out=$("$S" --color=always -n 1 '"Section 232"')
check "--color=always highlights" $([[ $out == *$'\e[1;31mSection 232'* ]]; echo $?)

# query errors: message with the column, the query and a caret under it
err=$("$S" 'japan ("x' 2>&1 >/dev/null)
check "error names the column" $([[ $err == *"query error at column 8: "* ]]; echo $?)
caret=$(printf '%s\n' "$err" | sed -n 3p)
check "caret under the column" $([ "$caret" = "         ^" ]; echo $?)
err=$("$S" '$600b..$500b' 2>&1 >/dev/null); check "reversed range" $([[ $err == *"column 1"* ]]; echo $?)
err=$("$S" "$(head -c 100000 /dev/zero | tr '\0' 'a')" 2>&1 >/dev/null); rc=$?
check "100 KB query: limit error" $([[ $rc -eq 2 && $err == *"column 4097"* ]]; echo $?)

# missing index: a clear message naming usjindex
err=$("$S" --index "$tmp/none.idx" japan 2>&1); rc=$?
check "missing index exit 2" $([ $rc -eq 2 ]; echo $?)
check "missing index names usjindex" $([[ $err == *usjindex* ]]; echo $?)
err=$(cd / && USJ_INDEX="$tmp/.usjsearch.idx" "$S" --count japan); check "USJ_INDEX" $([ "$err" -gt 0 ]; echo $?)
"$S" --help | grep -q "Exit status"; check "--help" $?
"$S" --version | grep -q "usjsearch"; check "--version" $?
exit $fail
