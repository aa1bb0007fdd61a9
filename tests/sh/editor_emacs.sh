#!/usr/bin/env bash
# tests/sh/editor_emacs.sh — the Emacs front end (editor/emacs/usjsearch.el)
# in the real Emacs, batch mode: byte-compiles it with warnings as errors,
# then runs the checks of editor_test.el (hits buffer, highlighting,
# next-error at the match, g, errors) on a copy of the seeds, and the main
# search again through a running usjsearchd.
# shellcheck source-path=SCRIPTDIR source=editor_common.bash
source "$(dirname "$0")/editor_common.bash"
need emacs

mkdir "$tmp/el"
cp "$root/editor/emacs/usjsearch.el" "$tmp/el/"
timeout 120 emacs --batch -Q -L "$tmp/el" \
  --eval '(setq byte-compile-error-on-warn t)' \
  --eval "(unless (byte-compile-file \"$tmp/el/usjsearch.el\") (kill-emacs 1))" \
  </dev/null || fail "usjsearch.el does not byte-compile without warnings"
[ -f "$tmp/el/usjsearch.elc" ] || fail "no usjsearch.elc"

run_emacs_suite() {
  local phase=$1 args=$2 idx=${3:-$index}
  # shellcheck disable=SC2086
  (cd "$tmp/work" && \
   USJ_T_PROG="$bin/usjsearch" USJ_T_INDEX="$idx" USJ_T_ARGS="$args" \
   USJ_T_PHASE="$phase" \
   USJ_T_S232="$(expect_hits "$s004" "Section 232" 2 5 24 29)" \
   USJ_T_SAFETY="$(expect_hits "$s004" "safety clause" 2 24)" \
   timeout 120 emacs --batch -Q -L "$tmp/el" -l usjsearch \
     -l "$root/tests/sh/editor_test.el" </dev/null) \
    || fail "emacs ($phase) checks failed"
}
run_emacs_suite full "--no-server"
if start_daemon private; then
  run_emacs_suite daemon "--server unix:$sock" "$(absent_index)"
  stop_daemon
fi
echo "editor_emacs: ok"
