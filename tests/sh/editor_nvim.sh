#!/usr/bin/env bash
# tests/sh/editor_nvim.sh — the Vim front end (editor/vim) in Neovim,
# headless: :Usj / :LUsj on a copy of the seeds, quickfix and location list
# entries (file, line, byte column), highlighting, errors, :help; then the
# same search through a running usjsearchd. Checks in editor_test.vim.
# shellcheck source-path=SCRIPTDIR source=editor_common.bash
source "$(dirname "$0")/editor_common.bash"
need nvim
check_packadd nvim
run_vim_suite nvim full "--no-server"
if start_daemon private; then
  run_vim_suite nvim daemon "--server unix:$sock" "$(absent_index)"
  stop_daemon
fi
echo "editor_nvim: ok"
