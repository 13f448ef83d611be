# bash completion for sockecho(1)                             -*- shell-script -*-
# Installed as share/bash-completion/completions/sockecho; or source it from ~/.bashrc.
# Self-contained: works with or without the bash-completion package loaded.

# The options of each subcommand, as `sockecho SUBCOMMAND --help` prints them.
_sockecho_transport_opts='--tcp --udp --unix -4 -6 -p --port -h --help'
_sockecho_client_tls_opts='--tls --cafile --servername -k --insecure --pin --cert --key --alpn
    --tls-min'
_sockecho_serve_opts="$_sockecho_transport_opts -b --bind --backlog --mode --exit-word
    --shutdown-word --max-clients --idle-timeout --once --reuseport --threads --unix-mode --allow --deny
    --tls --cert --key --cafile --alpn --tls-min --handshake-timeout -v --verbose -q --quiet --json --timestamps
    -x --hexdump"
_sockecho_send_opts="$_sockecho_transport_opts -w --timeout --connect-timeout --retries
    --exit-word --crlf -v --verbose -x --hexdump --timestamps $_sockecho_client_tls_opts
    -s --source"
_sockecho_probe_opts="$_sockecho_transport_opts -w --timeout --concurrency --payload --echo
    --expect -c --count -i --interval --open $_sockecho_client_tls_opts --warn-expiry -q --quiet --json
    --timestamps --wait -s --source"
# Options that take a value (the next word, or after '=').
_sockecho_value_opts='-p --port -b --bind --backlog --mode --exit-word --shutdown-word
    --max-clients --idle-timeout --threads --unix-mode --allow --deny -w --timeout --connect-timeout --retries
    --concurrency --payload --expect -c --count -i --interval --cert --key --cafile --alpn --tls-min
    --handshake-timeout --servername --pin --warn-expiry
    --wait -s --source'

# File names, for a Unix socket path or a PEM file; $1 is a prefix such as "--bind=".
_sockecho_paths() {
    mapfile -t COMPREPLY < <(compgen -P "$1" -f -- "$2")
    # Quote and mark directories as for any file name, where this bash can.
    compopt -o filenames 2>/dev/null
}

_sockecho_takes_value() {
    local o
    for o in $_sockecho_value_opts; do
        [[ $o == "$1" ]] && return 0
    done
    return 1
}

_sockecho() {
    COMPREPLY=()
    local cword=$COMP_CWORD
    local cur=${COMP_WORDS[cword]}
    local prev=${COMP_WORDS[cword - 1]}

    local prefix=''

    # `--mode=up`: bash splits it at '=' (COMP_WORDBREAKS) into --mode, =, up.
    if [[ $cur == = ]]; then
        cur=''
    elif [[ $prev == = ]] && ((cword >= 2)); then
        prev=${COMP_WORDS[cword - 2]}
    elif [[ $cur == --*=* ]]; then  # not split: COMP_WORDBREAKS without '='
        prev=${cur%%=*} prefix=${cur%%=*}= cur=${cur#*=}
    fi

    # The subcommand is the first word: options only go after it.
    if ((cword == 1)); then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W '--help -h --version' -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W 'serve send probe help' -- "$cur")
        fi
        return 0
    fi

    local sub=${COMP_WORDS[1]} opts unix='' i
    for ((i = 2; i < cword; i++)); do
        [[ ${COMP_WORDS[i]} == --unix ]] && unix=1
    done
    case $sub in
        serve) opts=$_sockecho_serve_opts ;;
        send) opts=$_sockecho_send_opts ;;
        probe) opts=$_sockecho_probe_opts ;;
        help)
            ((cword == 2)) && mapfile -t COMPREPLY < <(compgen -W 'serve send probe' -- "$cur")
            return 0
            ;;
        *) return 0 ;;
    esac

    # After an option that takes a value: the modes, a host (or with --unix a path) for
    # --bind, PEM files, TLS versions, a host for --servername, and nothing at all for
    # numbers, durations, words, file modes, fingerprints and ALPN lists.
    if _sockecho_takes_value "$prev"; then
        case $prev in
            --mode) mapfile -t COMPREPLY < <(compgen -P "$prefix" -W 'upper echo lower discard' -- "$cur") ;;
            --cert | --key | --cafile) _sockecho_paths "$prefix" "$cur" ;;
            --tls-min) mapfile -t COMPREPLY < <(compgen -P "$prefix" -W '1.2 1.3' -- "$cur") ;;
            --servername) mapfile -t COMPREPLY < <(compgen -P "$prefix" -A hostname -- "$cur") ;;
            -b | --bind)
                if [[ $unix ]]; then
                    _sockecho_paths "$prefix" "$cur"
                else
                    mapfile -t COMPREPLY < <(compgen -P "$prefix" -A hostname -- "$cur")
                fi
                ;;
        esac
        return 0
    fi

    if [[ $cur == -* ]]; then
        # shellcheck disable=SC2086  # word splitting of the option list is intended
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
        return 0
    fi

    # Positionals: serve takes [[ADDR:]PORT] (nothing to offer) or with --unix a PATH;
    # send takes TARGET (a host, or with --unix a PATH) first, then WORDs; probe takes
    # TARGETs only. Count the positionals before this word, skipping options and values.
    local n=0 w
    for ((i = 2; i < cword; i++)); do
        w=${COMP_WORDS[i]}
        if [[ $w != -* ]]; then
            ((++n))
        elif [[ $w != *=* ]] && _sockecho_takes_value "$w"; then
            # Its value is the next word, or the one after a split-off '='.
            if [[ ${COMP_WORDS[i + 1]} == = ]]; then ((i += 2)); else ((++i)); fi
        fi
    done
    ((n == 0)) || [[ $sub == probe ]] || return 0
    if [[ $unix ]]; then
        _sockecho_paths '' "$cur"
    elif [[ $sub != serve && $cur != *:* ]]; then
        mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur")
    fi
    return 0
}

complete -F _sockecho sockecho

# ex: filetype=sh
