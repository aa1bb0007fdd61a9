" tests/sh/editor_test.vim — the checks of the Vim and Neovim front end,
" sourced headless by editor_vim.sh and editor_nvim.sh (same script in both
" editors). Inputs come from the environment:
"   USJ_T_RTP     the editor/vim folder to load (a copy, so helptags can write)
"   USJ_T_PROG    the usjsearch program       USJ_T_INDEX  the index file
"   USJ_T_ARGS    extra arguments (space separated)
"   USJ_T_S232    expected "path:line:col" of "Section 232", one per line
"   USJ_T_SAFETY  the same for "safety clause"
"   USJ_T_SEMI    the client's own --vimgrep output for `semiconductors`
"   USJ_T_PHASE   full | daemon (daemon: only the Section 232 search)
"   USJ_T_OUT     where the list of failures is written
" Exits with :cquit when any check failed.

let s:timeout = 20000

function! s:entries(list) abort
  return map(copy(a:list), 'fnamemodify(bufname(v:val.bufnr), ":.") . ":" . v:val.lnum . ":" . v:val.col')
endfunction

function! s:expect_file(name) abort
  return filter(split(getenv(a:name), "\n"), 'v:val !=# ""')
endfunction

function! s:run() abort
  execute 'set runtimepath+=' . fnameescape($USJ_T_RTP)
  runtime plugin/usjsearch.vim
  call assert_equal(2, exists(':Usj'), ':Usj is defined')
  call assert_equal(2, exists(':LUsj'), ':LUsj is defined')
  call assert_equal(100, g:usjsearch_limit, 'default limit')
  call assert_equal('usjsearch', g:usjsearch_command, 'default command')
  let g:usjsearch_command = $USJ_T_PROG
  let g:usjsearch_index = $USJ_T_INDEX
  let g:usjsearch_args = split($USJ_T_ARGS)

  " :Usj {query}: asynchronous, fills the quickfix list and opens it.
  let l:start = reltime()
  Usj "Section 232"
  call assert_true(usjsearch#running(), ':Usj returns before the search ends')
  call assert_true(usjsearch#wait(s:timeout), ':Usj finished in time')
  call assert_equal('done', g:usjsearch_last.state)
  call assert_equal(0, g:usjsearch_last.status, 'exit status of "Section 232"')
  " Ranked by score: compare as sets.
  call assert_equal(sort(s:expect_file('USJ_T_S232')), sort(s:entries(getqflist())),
        \ 'quickfix entries of "Section 232"')
  call assert_equal(len(getqflist()), len(filter(getqflist(), 'v:val.valid')),
        \ 'every entry is valid')
  call assert_match('^usjsearch "Section 232"', getqflist({'title': 1}).title)
  call assert_equal('quickfix', &buftype, 'the quickfix window is opened')
  let l:matches = filter(getmatches(), 'v:val.group ==# "UsjsearchMatch"')
  call assert_equal(1, len(l:matches), 'query words are highlighted')
  if len(l:matches) == 1
    call assert_equal('section', tolower(matchstr(getline(1), l:matches[0].pattern)))
    call assert_equal('', matchstr('seeds/section.txt|1 col 1| none', l:matches[0].pattern),
          \ 'the path is not highlighted')
  endif
  " The first entry jumps to the paragraph at the match.
  let l:first = get(getqflist(), 0, {'bufnr': 0, 'lnum': 0, 'col': 0})
  cfirst
  call assert_equal(l:first.bufnr, bufnr('%'), ':cfirst opens the file')
  call assert_equal([l:first.lnum, l:first.col], [line('.'), col('.')],
        \ ':cfirst goes to the line and byte column')
  if $USJ_T_PHASE ==# 'daemon'
    return
  endif

  " :Usj with no argument searches the word under the cursor.
  enew!
  call setline(1, 'the semiconductors tariff')
  call cursor(1, 7)
  Usj
  call assert_true(usjsearch#wait(s:timeout), ':Usj <cword> finished in time')
  call assert_equal('semiconductors', g:usjsearch_last.query)
  let l:semi = map(s:expect_file('USJ_T_SEMI'), 'join(split(v:val, ":")[0:2], ":")')
  call assert_true(len(l:semi) > 0, 'the client finds semiconductors')
  call assert_equal(l:semi, s:entries(getqflist()), ':Usj <cword> = the client')
  wincmd p
  let l:win = win_getid()

  " :LUsj fills the location list of the current window only.
  LUsj "safety clause"
  call assert_true(usjsearch#wait(s:timeout), ':LUsj finished in time')
  call assert_equal(sort(s:expect_file('USJ_T_SAFETY')), sort(s:entries(getloclist(l:win))),
        \ 'location list of "safety clause"')
  call assert_equal(l:semi, s:entries(getqflist()), 'quickfix list unchanged by :LUsj')
  call assert_equal(1, get(getwininfo(win_getid())[0], 'loclist', 0),
        \ 'the location list window is opened')
  wincmd p

  " A malformed query: status 2, the client's message, lists unchanged.
  Usj "unterminated
  call assert_true(usjsearch#wait(s:timeout))
  call assert_equal(2, g:usjsearch_last.status, 'malformed query')
  call assert_notequal('', g:usjsearch_last.error, 'the error is reported')
  call assert_equal(l:semi, s:entries(getqflist()), 'quickfix kept on error')

  " No hits: status 1, an empty list.
  Usj zzqxjvw
  call assert_true(usjsearch#wait(s:timeout))
  call assert_equal(1, g:usjsearch_last.status, 'no hits')
  call assert_equal([], getqflist())

  " A new search cancels the one still running.
  Usj tariffs
  Usj "Section 232"
  call assert_true(usjsearch#wait(s:timeout))
  call assert_equal('"Section 232"', g:usjsearch_last.query)
  call assert_equal(sort(s:expect_file('USJ_T_S232')), sort(s:entries(getqflist())))

  " A missing program is reported, not thrown.
  let g:usjsearch_command = $USJ_T_RTP . '/no-such-program'
  Usj anything
  call usjsearch#wait(s:timeout)
  call assert_equal(2, g:usjsearch_last.status, 'missing program')
  let g:usjsearch_command = $USJ_T_PROG

  " Highlight patterns: operators, exclusions, fields and ranges left out.
  call assert_equal('', usjsearch#pattern('-tariff NOT steel file:seeds/* $1t.. 30%..40%'))
  let l:p = usjsearch#pattern('semicond* OR "safety clauses" -steel')
  call assert_equal('Semiconductors', matchstr('a|1 col 1| Semiconductors', l:p))
  call assert_equal('clause', matchstr('a|1 col 1| one clause', l:p))
  call assert_equal('', matchstr('a|1 col 1| steel', l:p))

  " :help usjsearch and the tags of every command and option.
  execute 'helptags ' . fnameescape($USJ_T_RTP . '/doc')
  for l:tag in ['usjsearch', ':Usj', ':LUsj', ':UsjStop', 'g:usjsearch_command',
        \ 'g:usjsearch_index', 'g:usjsearch_limit', 'g:usjsearch_args',
        \ 'g:usjsearch_open', 'UsjsearchMatch', 'usjsearch#wait()']
    try
      execute 'help ' . l:tag
      call assert_equal('usjsearch.txt', expand('%:t'), ':help ' . l:tag)
      helpclose
    catch
      call add(v:errors, ':help ' . l:tag . ': ' . v:exception)
    endtry
  endfor
endfunction

try
  call s:run()
catch
  call add(v:errors, 'exception: ' . v:exception . ' at ' . v:throwpoint)
endtry
call writefile(v:errors + ['checks done'], $USJ_T_OUT)
if empty(v:errors)
  qall!
else
  cquit
endif
