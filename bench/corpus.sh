#!/usr/bin/env bash
# bench/corpus.sh — builds the "kdocs" benchmark corpus from the Debian
# package linux-doc-6.1: the kernel's English documentation, one paragraph
# per line.
#
#   bash bench/corpus.sh OUTDIR [NFILES]
#
# Rules (deterministic; the output depends only on the package contents):
#  - sources: every Documentation/**/*.rst and *.txt file, gzipped or not,
#    except Documentation/translations/ (not English), in byte order of path;
#  - a paragraph is a blank-line-separated block; its lines are stripped of
#    leading and trailing white space and joined with single spaces (tabs,
#    CR and other C0 controls become spaces);
#  - reST decoration is dropped: lines made only of punctuation (section
#    underlines, table borders; such a line also ends the heading above it),
#    comments and directives (paragraphs starting with ".. "), and literal
#    code blocks (indented blocks following a paragraph that ends in "::" or
#    a code-block directive);
#  - output: NFILES (default 8) files kdocs-NN.txt of about equal size, each
#    paragraph on its own line followed by a blank line, so that every engine
#    (and usjindex's automatic splitting) sees exactly the same paragraphs.
# A file "stamp" records what the corpus was built from (run.sh compares it).
set -euo pipefail

out=${1:?usage: corpus.sh OUTDIR [NFILES]}
nfiles=${2:-8}
src=${KDOCS_SRC:-/usr/share/doc/linux-doc-6.1/Documentation}
[ -d "$src" ] || { echo "corpus.sh: $src missing (apt-get install linux-doc-6.1)" >&2; exit 1; }

export LC_ALL=C
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kdocs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# One stream: each source file's text, then a marker line.
(cd "$src" && find . -path ./translations -prune -o -type f \
    \( -name '*.rst' -o -name '*.rst.gz' -o -name '*.txt' -o -name '*.txt.gz' \) \
    -print | sort) > "$tmp/files"
while IFS= read -r f; do
  zcat -f -- "$src/$f"
  printf '\n\001EOF\001\n'
done < "$tmp/files" | awk '
function flush() {
  if (n > 0) {
    if (indented && incode) {
      # part of a literal block: dropped
    } else {
      incode = 0
      if (p !~ /^\.\. /) { print p; print "" }
      if (p ~ /::$/ || p ~ /^\.\. +(code-block|code|highlight|sourcecode)::/) incode = 1
    }
  }
  p = ""; n = 0; indented = 0
}
$0 == "\001EOF\001" { flush(); incode = 0; next }
{ gsub(/[\001-\037\177]/, " ") }
/^ *$/ { flush(); next }
{
  s = $0
  if (n == 0 && s ~ /^ /) indented = 1
  sub(/^ +/, "", s); sub(/ +$/, "", s)
  # a section underline ends the heading above it
  if (s ~ /^[-=~^*#+`:._"'"'"'|<>]+$/ || s ~ /^[-=+| ]+$/) { if (n > 0) { keep = indented; flush(); indented = keep } ; next }
  p = (n ? p " " s : s); n++
}
END { flush() }' > "$tmp/all.txt"

mkdir -p "$out"
rm -f "$out"/kdocs-*.txt
# Split at paragraph boundaries (every paragraph line is followed by a blank
# line, so cutting after a blank line keeps pairs together).
total=$(wc -c < "$tmp/all.txt")
awk -v total="$total" -v n="$nfiles" -v dir="$out" '
BEGIN { k = 0; size = 0; fn = sprintf("%s/kdocs-%02d.txt", dir, k) }
{
  print > fn; size += length($0) + 1
  if ($0 == "" && k < n - 1 && size >= total * (k + 1) / n) {
    close(fn); k++; fn = sprintf("%s/kdocs-%02d.txt", dir, k)
  }
}' "$tmp/all.txt"

paras=$(grep -c . "$tmp/all.txt" || true)
bytes=$(cat "$out"/kdocs-*.txt | wc -c)
{
  echo "kdocs corpus.sh rules v1"
  dpkg-query -W -f='${Package} ${Version}\n' linux-doc-6.1 2>/dev/null || echo "src $src"
  echo "files $(wc -l < "$tmp/files") paragraphs $paras bytes $bytes"
} > "$out/stamp"
echo "kdocs: $(wc -l < "$tmp/files") source files -> $paras paragraphs, $bytes bytes in $nfiles files" >&2
