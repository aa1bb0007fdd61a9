" editor/vim/plugin/usjsearch.vim — usjsearch for Vim 8+ and Neovim: the
" :Usj and :LUsj commands and the option defaults. The work is done in
" autoload/usjsearch.vim, loaded on first use. Documentation: :help usjsearch
if exists('g:loaded_usjsearch') || &compatible
  finish
endif
if !has('nvim') && v:version < 801
  echomsg 'usjsearch: needs Vim 8.1 or later (or Neovim)'
  finish
endif
let g:loaded_usjsearch = 1

" Program to run: a string (one word) or a list (program and arguments).
let g:usjsearch_command = get(g:, 'usjsearch_command', 'usjsearch')
" Index file ('' = the client's default: $USJ_INDEX or .usjsearch.idx found
" from the current folder upwards).
let g:usjsearch_index = get(g:, 'usjsearch_index', '')
" Most hits asked for.
let g:usjsearch_limit = get(g:, 'usjsearch_limit', 100)
" Extra arguments, a list (e.g. ['--server', 'unix:/run/user/1000/x.sock']).
let g:usjsearch_args = get(g:, 'usjsearch_args', [])
" Open the list window when hits arrive.
let g:usjsearch_open = get(g:, 'usjsearch_open', 1)

" :Usj {query}   hits in the quickfix list (no query: the word under the cursor)
" :LUsj {query}  hits in the location list of the current window
command! -nargs=* Usj  call usjsearch#search(<q-args>, 0)
command! -nargs=* LUsj call usjsearch#search(<q-args>, 1)
" :UsjStop       cancel the searches still running
command! -nargs=0 UsjStop call usjsearch#stop()

highlight default link UsjsearchMatch Search

augroup usjsearch
  autocmd!
  " Re-apply the match highlighting whenever a list window shows our hits.
  autocmd FileType qf call usjsearch#highlight_window()
augroup END
