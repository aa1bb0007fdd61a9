" editor/vim/autoload/usjsearch.vim — the work behind :Usj and :LUsj: build
" the usjsearch command line, run it as a job (Vim 8 job_start / Neovim
" jobstart; a blocking systemlist() only when neither exists), read its
" --vimgrep output (path:line:column:text) into the quickfix or location list,
" and highlight the query's words in the list window.
" The program talks to usjsearchd itself when one runs (unless --no-server is
" among g:usjsearch_args), so nothing here knows about the daemon.

let s:save_cpo = &cpoptions
set cpoptions&vim

" Running searches: key ('qf' or 'll<winid>') -> context dict.
let s:running = {}

" ---- command line ------------------------------------------------------------

" The argument list for one query (a list, never passed through a shell).
function! usjsearch#command(query) abort
  let l:prog = get(g:, 'usjsearch_command', 'usjsearch')
  let l:cmd = type(l:prog) == v:t_list ? copy(l:prog) : [l:prog]
  call extend(l:cmd, ['--vimgrep', '--color=never',
        \ '--limit', string(get(g:, 'usjsearch_limit', 100))])
  let l:index = get(g:, 'usjsearch_index', '')
  if l:index !=# ''
    call extend(l:cmd, ['--index', expand(l:index)])
  endif
  call extend(l:cmd, copy(get(g:, 'usjsearch_args', [])))
  " A query such as "-word" must not be read as an option.
  if a:query =~# '^-'
    call add(l:cmd, '--')
  endif
  call add(l:cmd, a:query)
  return l:cmd
endfunction

" ---- starting and stopping -----------------------------------------------------

" :Usj / :LUsj. An empty query searches the word under the cursor.
function! usjsearch#search(query, loclist) abort
  let l:query = substitute(a:query, '^\s\+\|\s\+$', '', 'g')
  if l:query ==# ''
    let l:query = expand('<cword>')
  endif
  if l:query ==# ''
    call s:error('usjsearch: no query and no word under the cursor')
    return
  endif
  let l:ctx = {'query': l:query, 'loclist': a:loclist, 'winid': win_getid(),
        \ 'cmd': usjsearch#command(l:query), 'out': [], 'err': [],
        \ 'status': -1, 'exited': 0, 'closed': 0, 'cancelled': 0,
        \ 'key': a:loclist ? 'll' . win_getid() : 'qf'}
  " A new search replaces the one still running for the same list.
  if has_key(s:running, l:ctx.key)
    call s:cancel(s:running[l:ctx.key])
  endif
  let g:usjsearch_last = {'query': l:query, 'state': 'running', 'status': -1,
        \ 'count': 0, 'error': ''}
  if has('nvim')
    call s:start_nvim(l:ctx)
  elseif has('job') && has('channel')
    call s:start_vim(l:ctx)
  else
    call s:start_sync(l:ctx)
  endif
endfunction

" :UsjStop — cancel every search still running.
function! usjsearch#stop() abort
  for l:ctx in values(s:running)
    call s:cancel(l:ctx)
  endfor
  let s:running = {}
endfunction

" 1 while a search runs.
function! usjsearch#running() abort
  return !empty(s:running)
endfunction

" Wait up to timeout_ms for the running searches (for scripts and tests).
" Returns 1 when they finished, 0 on timeout.
function! usjsearch#wait(timeout_ms) abort
  let l:waited = 0
  while !empty(s:running) && l:waited < a:timeout_ms
    sleep 10m
    let l:waited += 10
  endwhile
  return empty(s:running)
endfunction

function! s:cancel(ctx) abort
  let a:ctx.cancelled = 1
  if has_key(a:ctx, 'job')
    try
      if has('nvim')
        call jobstop(a:ctx.job)
      else
        call job_stop(a:ctx.job)
      endif
    catch
    endtry
  endif
  if get(s:running, a:ctx.key, {}) is a:ctx
    call remove(s:running, a:ctx.key)
  endif
endfunction

" ---- Neovim ----------------------------------------------------------------

function! s:start_nvim(ctx) abort
  try
    let l:job = jobstart(a:ctx.cmd, {
          \ 'stdin': 'null',
          \ 'stdout_buffered': v:true, 'stderr_buffered': v:true,
          \ 'on_stdout': function('s:nvim_data', [a:ctx, 'out']),
          \ 'on_stderr': function('s:nvim_data', [a:ctx, 'err']),
          \ 'on_exit': function('s:nvim_exit', [a:ctx])})
  catch
    let l:job = -1
  endtry
  if l:job <= 0
    call s:failed(a:ctx, 'cannot run ' . string(a:ctx.cmd[0]))
    return
  endif
  let a:ctx.job = l:job
  let s:running[a:ctx.key] = a:ctx
endfunction

" Buffered: called once with every line; the last item is the partial line
" after the final newline (usually '').
function! s:nvim_data(ctx, which, job, data, event) abort
  let l:lines = copy(a:data)
  if !empty(l:lines) && l:lines[-1] ==# ''
    call remove(l:lines, -1)
  endif
  call extend(a:ctx[a:which], l:lines)
endfunction

" Neovim calls on_exit after the streams are closed and flushed.
function! s:nvim_exit(ctx, job, status, event) abort
  let a:ctx.status = a:status
  call s:finish(a:ctx)
endfunction

" ---- Vim 8 -------------------------------------------------------------------

function! s:start_vim(ctx) abort
  try
    let l:job = job_start(a:ctx.cmd, {
          \ 'in_io': 'null', 'out_mode': 'nl', 'err_mode': 'nl',
          \ 'out_cb': function('s:vim_line', [a:ctx, 'out']),
          \ 'err_cb': function('s:vim_line', [a:ctx, 'err']),
          \ 'close_cb': function('s:vim_close', [a:ctx]),
          \ 'exit_cb': function('s:vim_exit', [a:ctx])})
  catch
    call s:failed(a:ctx, v:exception)
    return
  endtry
  if job_status(l:job) ==# 'fail'
    call s:failed(a:ctx, 'cannot run ' . string(a:ctx.cmd[0]))
    return
  endif
  let a:ctx.job = l:job
  let s:running[a:ctx.key] = a:ctx
endfunction

function! s:vim_line(ctx, which, channel, line) abort
  call add(a:ctx[a:which], a:line)
endfunction

" Vim delivers all data before close_cb, but exit_cb may come before or
" after it: finish when both have been seen.
function! s:vim_close(ctx, channel) abort
  let a:ctx.closed = 1
  if a:ctx.exited
    call s:finish(a:ctx)
  endif
endfunction

function! s:vim_exit(ctx, job, status) abort
  let a:ctx.exited = 1
  let a:ctx.status = a:status
  if a:ctx.closed
    call s:finish(a:ctx)
  endif
endfunction

" ---- no jobs: blocking fallback ----------------------------------------------

function! s:start_sync(ctx) abort
  let l:out = systemlist(join(map(copy(a:ctx.cmd), 'shellescape(v:val)')) . ' 2>&1')
  let a:ctx.status = v:shell_error
  if a:ctx.status >= 2
    let a:ctx.err = l:out
  else
    let a:ctx.out = l:out
  endif
  call s:finish(a:ctx)
endfunction

" ---- results -----------------------------------------------------------------

function! s:failed(ctx, msg) abort
  let g:usjsearch_last = {'query': a:ctx.query, 'state': 'done', 'status': 2,
        \ 'count': 0, 'error': a:msg}
  call s:error('usjsearch: ' . a:msg)
  call s:done_event()
endfunction

" Exit status like grep: 0 hits, 1 none, 2 error (message on stderr).
function! s:finish(ctx) abort
  if a:ctx.cancelled
    return
  endif
  if get(s:running, a:ctx.key, {}) is a:ctx
    call remove(s:running, a:ctx.key)
  endif
  let l:status = a:ctx.status
  if l:status != 0 && l:status != 1
    " The client's message (with the query and a caret under the column).
    let l:msg = join(map(filter(copy(a:ctx.err), 'v:val !~# "^\\s*$"'),
          \ 'substitute(v:val, "^usjsearch: ", "", "")'), "\n")
    if l:msg ==# ''
      let l:msg = 'exit status ' . l:status
    endif
    call s:failed(a:ctx, l:msg)
    return
  endif
  let l:lines = filter(copy(a:ctx.out), 'v:val !=# ""')
  let l:what = {'title': 'usjsearch ' . a:ctx.query, 'lines': l:lines,
        \ 'efm': '%f:%l:%c:%m',
        \ 'context': {'usjsearch': usjsearch#pattern(a:ctx.query)}}
  let l:loclist = a:ctx.loclist
  if l:loclist && win_id2win(a:ctx.winid) == 0
    let l:loclist = 0      " the window is gone: use the quickfix list
  endif
  if l:loclist
    call setloclist(a:ctx.winid, [], ' ', l:what)
    let l:count = len(getloclist(a:ctx.winid))
  else
    call setqflist([], ' ', l:what)
    let l:count = len(getqflist())
  endif
  let g:usjsearch_last = {'query': a:ctx.query, 'state': 'done',
        \ 'status': l:status, 'count': l:count, 'error': ''}
  if l:count == 0
    echomsg 'usjsearch: no hits for ' . a:ctx.query
  elseif get(g:, 'usjsearch_open', 1)
    call s:open(l:loclist, a:ctx.winid)
  endif
  call s:done_event()
endfunction

function! s:open(loclist, winid) abort
  if a:loclist
    if win_getid() != a:winid
      call win_gotoid(a:winid)
    endif
    lopen
  else
    copen
  endif
  call usjsearch#highlight_window()
endfunction

function! s:done_event() abort
  if exists('#User#UsjsearchDone')
    doautocmd <nomodeline> User UsjsearchDone
  endif
endfunction

function! s:error(msg) abort
  echohl ErrorMsg
  for l:line in split(a:msg, "\n")
    echomsg l:line
  endfor
  echohl None
endfunction

" ---- highlighting ------------------------------------------------------------

" A Vim pattern matching the words of a query in the list window's text
" column. Operators, excluded words (-word, NOT word), fields (file:, title:,
" year: ...), number ranges and amounts are left out; `word*` matches the
" prefix; a word also matches its inflections (the index is stemmed:
" `clauses` finds `clause`). Returns '' when nothing is left to highlight.
function! usjsearch#pattern(query) abort
  let l:pats = []
  let l:skip_next = 0
  for l:tok in split(a:query, '\%(\s\|[()]\)\+')
    if l:skip_next
      let l:skip_next = 0
      if l:tok !~# '^"'
        continue
      endif
    endif
    if l:tok ==# 'NOT'
      let l:skip_next = 1
      continue
    endif
    if l:tok =~# '^\%(OR\|AND\||\)$' || l:tok =~# '^-'
          \ || l:tok =~# '^\a\+:' || l:tok =~# '\.\.\|[$%<>=]'
      continue
    endif
    for l:word in split(l:tok, '[^0-9A-Za-z\u00c0-\uffff*]\+')
      let l:pat = s:word_pattern(l:word)
      if l:pat !=# '' && index(l:pats, l:pat) < 0
        call add(l:pats, l:pat)
      endif
    endfor
  endfor
  if empty(l:pats)
    return ''
  endif
  " Only after the second '|' of "path|line col N| text".
  return '\c\%(^[^|]*|[^|]*|.*\)\@<=\%(' . join(l:pats, '\|') . '\)'
endfunction

function! s:word_pattern(word) abort
  let l:w = tolower(a:word)
  if l:w =~# '\*$'
    let l:w = substitute(l:w, '\*\+$', '', '')
    return l:w ==# '' ? '' : '\<' . l:w . '\w*'
  endif
  let l:w = substitute(l:w, '\*', '', 'g')
  if l:w ==# ''
    return ''
  endif
  if l:w =~# '^\d\+$'
    return '\<' . l:w . '\>'
  endif
  let l:stem = substitute(l:w, '\%(ies\|es\|s\|ed\|ing\|ly\)$', '', '')
  if strchars(l:stem) < 3
    return '\<' . l:w . '\>'
  endif
  return '\<' . l:stem . '\w*'
endfunction

" Put the matches of the list shown in the current window (a quickfix or
" location list window) on it; called on FileType qf and after opening.
function! usjsearch#highlight_window() abort
  if &buftype !=# 'quickfix'
    return
  endif
  for l:id in get(w:, 'usjsearch_matches', [])
    silent! call matchdelete(l:id)
  endfor
  let w:usjsearch_matches = []
  let l:info = getwininfo(win_getid())
  let l:is_loc = !empty(l:info) && get(l:info[0], 'loclist', 0)
  let l:ctx = l:is_loc ? getloclist(0, {'context': 1}).context
        \ : getqflist({'context': 1}).context
  if type(l:ctx) != v:t_dict || get(l:ctx, 'usjsearch', '') ==# ''
    return
  endif
  call add(w:usjsearch_matches, matchadd('UsjsearchMatch', l:ctx.usjsearch))
endfunction

let &cpoptions = s:save_cpo
unlet s:save_cpo
