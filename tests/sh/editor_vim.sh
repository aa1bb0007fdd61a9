#!/usr/bin/env bash
# tests/sh/editor_vim.sh — the Vim front end (editor/vim) in the real Vim,
# headless: :Usj / :LUsj on a copy of the seeds, quickfix and location list
# entries (file, line, byte column), highlighting, errors, :help; then the
# same search through a running usjsearchd. Checks in editor_test.vim.
# shellcheck source-path=SCRIPTDIR source=editor_common.bash
source "$(dirname "$0")/editor_common.bash"
need vim
check_packadd vim
run_vim_suite vim full "--no-server"
if start_daemon private; then
  run_vim_suite vim daemon "--server unix:$sock" "$(absent_index)"
  stop_daemon
fi
echo "editor_vim: ok"
