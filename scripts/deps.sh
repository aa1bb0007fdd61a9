#!/usr/bin/env bash
# scripts/deps.sh — make sure the Debian packages a task needs are installed.
#   scripts/deps.sh build   compile libusj and the programs
#   scripts/deps.sh test    + the editors and tools the test suites drive
#   scripts/deps.sh bench   + the peers and corpora of `make bench`
# Idempotent: checks with dpkg first, runs apt-get (through sudo when not
# root, never prompting) only for what is missing.
set -euo pipefail

build_pkgs=(gcc make pkg-config libstemmer-dev zlib1g-dev libevent-dev
            libcriterion-dev libutf8proc-dev)
test_pkgs=(vim neovim emacs-nox python3 procps fzf man-db groff-base)
bench_pkgs=(g++ libxapian-dev libsqlite3-dev sqlite3 linux-doc-6.1 ripgrep
            redis-server redis-tools hyperfine time)

want=()
case "${1:-build}" in
  build) want=("${build_pkgs[@]}") ;;
  test)  want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) want=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "deps: missing packages (${missing[*]}) and no sudo; install them as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty package lists: update, then install.
"${sudo[@]}" apt-get update -qq >&2 || true
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
