# fish completion for sockecho(1). Installed as share/fish/vendor_completions.d/sockecho.fish;
# or copy it to ~/.config/fish/completions/.

# The subcommand: the first argument, when it is one.
function __sockecho_subcommand
    set -l tokens (commandline -opc)
    if test (count $tokens) -ge 2
        echo -- $tokens[2]
    end
end

# True when the subcommand is one of the arguments.
function __sockecho_using
    set -l sub (__sockecho_subcommand)
    test -n "$sub"; and contains -- $sub $argv
end

# True while `send` has no TARGET yet: no positional after the subcommand, skipping
# options and the values of those that take one.
function __sockecho_send_needs_target
    __sockecho_using send; or return 1
    set -l tokens (commandline -opc)
    set -l takes_value -p --port -w --timeout --connect-timeout --retries --exit-word \
        --cafile --servername --pin --cert --key --alpn --tls-min
    set -l skip 0
    for t in $tokens[3..-1]
        if test $skip = 1
            set skip 0
        else if contains -- $t $takes_value
            set skip 1
        else if not string match -q -- '-*' $t
            return 1
        end
    end
    return 0
end

# No file names but where asked for (--cert, --key, --cafile, a Unix socket): sockecho
# takes addresses, ports and words.
complete -c sockecho -f

# Before the subcommand.
complete -c sockecho -n __fish_use_subcommand -a serve -d 'run the uppercase echo service'
complete -c sockecho -n __fish_use_subcommand -a send -d 'send stdin or WORDs, print the replies'
complete -c sockecho -n __fish_use_subcommand -a probe -d 'is it there, and how fast does it answer?'
complete -c sockecho -n __fish_use_subcommand -a help -d 'show the options of a subcommand'
complete -c sockecho -n __fish_use_subcommand -s h -l help -d 'show help'
complete -c sockecho -n __fish_use_subcommand -l version -d 'show the version'
complete -c sockecho -n '__sockecho_using help; and test (count (commandline -opc)) -eq 2' \
    -a 'serve send probe'

# Transport options (every subcommand). -x: takes a value, offer no files.
set -l both '__sockecho_using serve send probe'
complete -c sockecho -n $both -l tcp -d 'stream socket (the default)'
complete -c sockecho -n $both -l udp -d 'datagram socket'
complete -c sockecho -n $both -l unix -d 'Unix domain socket: the address is a path, @name is abstract'
complete -c sockecho -n $both -s 4 -d 'IPv4 only'
complete -c sockecho -n $both -s 6 -d 'IPv6 only'
complete -c sockecho -n $both -s p -l port -x -d 'port (default 48763)'
complete -c sockecho -n $both -s h -l help -d 'show help for the subcommand'

# serve
set -l serve '__sockecho_using serve'
complete -c sockecho -n "$serve; and not __fish_contains_opt unix" -s b -l bind -x \
    -a 'localhost (__fish_print_hostnames)' -d 'address to listen on (default dual-stack [::])'
complete -c sockecho -n "$serve; and __fish_contains_opt unix" -s b -l bind -r -F \
    -d 'socket path to listen on'
complete -c sockecho -n $serve -l backlog -x -d 'listen(2) backlog (default 128)'
complete -c sockecho -n $serve -l mode -x -d 'what the service returns (default upper)' \
    -a 'upper\t"upper-case ASCII letters (the default)"
echo\t"return bytes unchanged"
lower\t"lower-case ASCII letters"
discard\t"return nothing"'
complete -c sockecho -n $serve -l exit-word -x -d 'a line that closes the connection (default exit)'
complete -c sockecho -n $serve -l shutdown-word -x -d 'a line that stops the server (default none)'
complete -c sockecho -n $serve -l max-clients -x -d 'serve at most N clients at once (default 0: no cap)'
complete -c sockecho -n $serve -l idle-timeout -x -d 'close clients silent this long (default never)'
complete -c sockecho -n $serve -l once -d 'serve one client or one datagram, then exit'
complete -c sockecho -n $serve -l reuseport -d 'set SO_REUSEPORT'
complete -c sockecho -n $serve -l threads -x -d 'serve on N threads, each with its own SO_REUSEPORT socket'
complete -c sockecho -n $serve -l unix-mode -x -d 'with --unix: permissions of the socket file, in octal'
complete -c sockecho -n $serve -l allow -x -d 'serve only peers in CIDR (repeatable)'
complete -c sockecho -n $serve -l deny -x -d 'refuse peers in CIDR (repeatable; wins over --allow)'
complete -c sockecho -n $serve -l tls -d 'serve TLS over the stream (TCP or Unix)'
complete -c sockecho -n $serve -l cert -r -F -d 'certificate chain, PEM, with --key (default: generated)'
complete -c sockecho -n $serve -l key -r -F -d 'private key of --cert, PEM'
complete -c sockecho -n $serve -l cafile -r -F -d 'ask clients for a certificate, verified against FILE'
complete -c sockecho -n $serve -l alpn -x -d 'protocols to accept, by preference (h2,http/1.1)'
complete -c sockecho -n $serve -l tls-min -x -a '1.2 1.3' -d 'lowest TLS version to accept (default 1.2)'
complete -c sockecho -n $serve -l handshake-timeout -x -d 'close a client not through the handshake in DUR (default 10s)'
complete -c sockecho -n $serve -s v -l verbose -d 'also print every message'
complete -c sockecho -n $serve -s q -l quiet -d 'print only errors'
complete -c sockecho -n $serve -l json -d 'print events as JSON lines'
complete -c sockecho -n $serve -l timestamps -d 'start each line with its time, RFC 3339 UTC'
complete -c sockecho -n $serve -s x -l hexdump -d 'also print every chunk read or written as a hex dump'

# send
set -l send '__sockecho_using send'
complete -c sockecho -n $send -s w -l timeout -x \
    -d 'silence to wait for after input (stream, 10s); per reply (datagram, 1s)'
complete -c sockecho -n $send -l connect-timeout -x -d 'give up connecting after DUR (default 10s)'
complete -c sockecho -n $send -l retries -x -d 'datagram: send each at most N+1 times (default 0)'
complete -c sockecho -n $send -l exit-word -x -d 'interactive: sent, then the session ends (default exit)'
complete -c sockecho -n $send -l crlf -d 'send each input line ending as CRLF (streams only)'
complete -c sockecho -n $send -s x -l hexdump -d 'print every chunk sent or received as a hex dump on stderr'
complete -c sockecho -n $send -s v -l verbose -d 'print connection details on stderr'
complete -c sockecho -n $send -l timestamps -d 'start each -v line with its time, RFC 3339 UTC'
complete -c sockecho -n '__sockecho_send_needs_target; and not __fish_contains_opt unix' \
    -a 'localhost (__fish_print_hostnames)' -d host

# probe
set -l probe '__sockecho_using probe'
complete -c sockecho -n $probe -s w -l timeout -x -d 'give up on a probe after DUR (default 2s)'
complete -c sockecho -n $probe -l concurrency -x -d 'probes in flight at once (default: up to 1024)'
complete -c sockecho -n $probe -l payload -x -d "what UDP and --echo probes send (default 'probe')"
complete -c sockecho -n $probe -l echo -d 'also check the service answers the payload upper-cased'
complete -c sockecho -n $probe -l expect -x -d 'the reply to expect instead (implies --echo)'
complete -c sockecho -n $probe -s c -l count -x -d 'probe each endpoint N times (default 1)'
complete -c sockecho -n $probe -s i -l interval -x -d 'between probes of one endpoint (default 1s; 250ms with --wait)'
complete -c sockecho -n $probe -l wait -x -d 'probe again until every endpoint is up, for at most DUR'
complete -c sockecho -n $probe -l open -d 'list only OPEN endpoints in the table'
complete -c sockecho -n $probe -s q -l quiet -d 'print nothing; the exit status says it all'
complete -c sockecho -n $probe -l json -d 'print results as JSON lines'
complete -c sockecho -n $probe -l timestamps -d 'start each line with its time, RFC 3339 UTC'
complete -c sockecho -n "$probe; and not __fish_contains_opt unix" \
    -a 'localhost (__fish_print_hostnames)' -d host

# Both clients (send and probe); the TLS flags follow
set -l client '__sockecho_using send probe'
complete -c sockecho -n $client -s s -l source -x -a '127.0.0.1 ::1' \
    -d 'connect from this local address (and port), as nc -s'

# TLS on a client (send and probe)
complete -c sockecho -n $client -l tls -d "talk TLS over the stream, verifying the server's certificate"
complete -c sockecho -n $client -l cafile -r -F -d "trust the CAs in FILE instead of the system's"
complete -c sockecho -n $client -l servername -x -a '(__fish_print_hostnames)' \
    -d "name to check and send as SNI (default: TARGET's host)"
complete -c sockecho -n $client -s k -l insecure -d "do not verify the server's certificate"
complete -c sockecho -n $client -l pin -x -d 'accept only the certificate with this SHA-256 fingerprint'
complete -c sockecho -n $client -l cert -r -F -d 'client certificate, PEM, with --key'
complete -c sockecho -n $client -l key -r -F -d 'private key of --cert, PEM'
complete -c sockecho -n $client -l alpn -x -d 'application protocols to offer (h2,http/1.1)'
complete -c sockecho -n $client -l tls-min -x -a '1.2 1.3' -d 'lowest TLS version to accept (default 1.2)'
complete -c sockecho -n $probe -l warn-expiry -x -d 'EXPIRING when the certificate expires within DUR (21d)'

# With --unix the address is a socket file: offer file names.
complete -c sockecho -n '__sockecho_using serve send probe; and __fish_contains_opt unix' -F
