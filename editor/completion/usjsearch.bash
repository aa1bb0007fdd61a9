# editor/completion/usjsearch.bash — bash completion of usjsearch, usjindex
# and usjsearchd: their options (as --help prints them), option values
# (index files, sockets, colors, log levels) and, for usjsearch, the query
# fields file:GLOB and title:. Installed as
# share/bash-completion/completions/usjsearch (usjindex and usjsearchd link
# to it); works on its own too: `source usjsearch.bash`.

_usj_opts_usjsearch='-n --limit --offset -c --count --total-upto --index --server --no-server
  --timeout --vimgrep --json --absolute --explain --color --heading --no-heading
  -h --help --version'
_usj_opts_usjindex='-o --output -m --memory -s --split -g --glob -v --verbose
  -q --quiet --stats --check -h --help --version'
_usj_opts_usjsearchd='--index --socket --listen --threads --max-conns
  --idle-timeout --query-timeout --cache --pidfile --log-level --foreground --help
  --version'

_usj_add() {     # _usj_add COMPGEN-ARGS...: append compgen's words
  local IFS=$' \t\n' w
  while IFS= read -r w; do COMPREPLY+=("$w"); done < <(compgen "$@")
}

_usj_files() {   # _usj_files CUR [GLOB]: files (matching GLOB) and folders
  local cur=$1 glob=${2:-} f
  compopt -o filenames 2>/dev/null
  while IFS= read -r f; do
    # shellcheck disable=SC2053
    if [ -z "$glob" ] || [ -d "$f" ] || [[ $f == $glob ]]; then
      COMPREPLY+=("$f")
    fi
  done < <(compgen -f -- "$cur")
}

_usj_value() {   # _usj_value OPTION CUR: complete the value of OPTION
  local opt=$1 cur=$2 s
  case $opt in
    --index)
      _usj_files "$cur" '*.idx' ;;
    -o|--output|--pidfile)
      _usj_files "$cur" ;;
    --socket)
      _usj_add -W none -- "$cur"
      _usj_files "$cur" ;;
    --server)
      for s in "${XDG_RUNTIME_DIR:-/nonexistent}"/usjsearchd-*.sock; do
        [ -S "$s" ] && _usj_add -W "unix:$s" -- "$cur"
      done
      if [[ $cur == unix:* ]]; then
        _usj_add -P unix: -f -- "${cur#unix:}"
      elif [ ${#COMPREPLY[@]} -eq 0 ]; then
        _usj_add -W 'unix: 127.0.0.1:7700' -- "$cur"
        compopt -o nospace 2>/dev/null
      fi ;;
    --listen)
      _usj_add -W '127.0.0.1:7700 [::1]:7700' -- "$cur" ;;
    --color|--colour)
      _usj_add -W 'auto always never' -- "$cur" ;;
    --log-level)
      _usj_add -W 'error warn info debug' -- "$cur" ;;
    -m|--memory)
      _usj_add -W '64m 256m 1g' -- "$cur" ;;
    -s|--split)
      _usj_add -W 'auto line block' -- "$cur" ;;
    *) ;;   # numbers: nothing to offer
  esac
}

_usj_complete() {
  local prog=${1##*/} cur=${COMP_WORDS[COMP_CWORD]} prev='' opts i
  [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}
  COMPREPLY=()
  case $prog in
    usjsearch)  opts=$_usj_opts_usjsearch ;;
    usjindex)   opts=$_usj_opts_usjindex ;;
    usjsearchd) opts=$_usj_opts_usjsearchd ;;
    *) return 0 ;;
  esac
  # bash splits "--opt=value" into "--opt" "=" "value" (COMP_WORDBREAKS).
  if [ "$prev" = '=' ] && [ "$COMP_CWORD" -gt 1 ]; then
    _usj_value "${COMP_WORDS[COMP_CWORD-2]}" "$cur"
    return 0
  fi
  if [ "$cur" = '=' ]; then
    _usj_value "$prev" ''
    return 0
  fi
  if [[ $cur == --*=* ]]; then
    local opt=${cur%%=*}
    _usj_value "$opt" "${cur#*=}"
    for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]="$opt=${COMPREPLY[i]}"; done
    return 0
  fi
  # options taking a value, as "--opt VALUE"
  case $prev in
    -n|--limit|--offset|--index|--server|--timeout|--color|--colour|-o|--output|-m|--memory|-s|--split|-g|--glob|--socket|--listen|--threads|--max-conns|--idle-timeout|--query-timeout|--cache|--pidfile|--log-level)
      _usj_value "$prev" "$cur"
      return 0 ;;
  esac
  if [[ $cur == -* ]]; then
    _usj_add -W "$opts" -- "$cur"
    return 0
  fi
  case $prog in
    usjindex)
      # a corpus folder or files, or with --stats/--check an index
      if [[ " ${COMP_WORDS[*]} " == *' --stats '* || " ${COMP_WORDS[*]} " == *' --check '* ]]; then
        _usj_files "$cur" '*.idx'
      else
        _usj_files "$cur"
      fi ;;
    usjsearch)
      # query words are free text; help with the fields
      if [[ $cur == file:* ]]; then
        _usj_add -P file: -f -- "${cur#file:}"
        compopt -o nospace 2>/dev/null
      elif [ -n "$cur" ]; then
        _usj_add -W 'file: title: year: money: percent: count:' -- "$cur"
        [ ${#COMPREPLY[@]} -gt 0 ] && compopt -o nospace 2>/dev/null
      fi ;;
  esac
  return 0
}

complete -F _usj_complete usjsearch usjindex usjsearchd
