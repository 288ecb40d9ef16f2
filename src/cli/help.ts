/** `fleetssh --help` text (docs/CLI.md says the same at more length). */

export const HELP = `fleetssh - run commands on many hosts over SSH

Usage:
  fleetssh run -i INVENTORY [-H HOST]... [options] COMMAND
  fleetssh put -i INVENTORY [-H HOST]... [options] [-r] [--preserve] LOCAL... REMOTE
  fleetssh get -i INVENTORY [-H HOST]... [options] [-r] [--preserve] REMOTE... LOCALDIR
  fleetssh exec [options] [USER@]HOST[:PORT] COMMAND
  fleetssh demo [-n COUNT] [-p PARALLEL] [COMMAND]
  fleetssh --help | --version

run options:
  -i, --inventory FILE   hosts file, JSON, Ansible INI/YAML or ssh_config (repeatable)
  -H, --host HOST        [user@]host[:port], ranges like web[01-20] (repeatable)
  -g, --group GROUP      only hosts in this inventory group (repeatable)
  -l, --user USER        login name (inventory values win)
  -P, --port PORT        port (inventory values win)
  -J, --jump [USER@]BASTION[:PORT][,...]
                         reach hosts through this jump host (ProxyJump); hosts
                         share one connection to it. Inventory values win;
                         ssh_config ProxyJump applies to hosts with neither.
  -p, --parallel N       hosts in flight at once (default 32)
  -t, --timeout SECS     limit per host, retries included (default 0 = none)
      --connect-timeout SECS  limit on TCP + handshake + auth (default 10)
      --retries N        retries before the command started (default 2)
      --rate N           at most N new connections per second (default unlimited)
  -k, --key FILE         private key file (repeatable; default ~/.ssh/id_*)
      --insecure         accept any host key (no known_hosts check)
      --json             one JSON line per host result, then a summary line
      --json-events      one JSON line per event (connecting, stdout, exit, ...)
  -o, --outdir DIR       write DIR/HOST.out and DIR/HOST.err
      --inline           print output lines as they arrive, as "host: line"
      --progress / --no-progress   force the progress bar on or off
                         (default: on when stderr is a terminal)
  Password: set FLEETSSH_PASSWORD in the environment.

put copies LOCAL files to REMOTE on every host over SFTP, with the run
options above (options come before the paths). -r/--recursive copies
directories; --preserve keeps modes and times. A put is retried even after it
started (repeating it is safe). get copies REMOTE from every host into
LOCALDIR/HOST/, one directory per host (in HOST, characters other than
letters, digits and . _ @ - become _).

Output: by default a block per host as it finishes ([SUCCESS]/[FAILURE],
then its output). Control characters in remote output and error messages are
shown as ^X / <U+XXXX>, so no host can drive your terminal.

Exit status (run and demo):
  0   every host ran the command and it exited 0
  1   internal error
  2   usage error (bad option, unreadable or malformed inventory)
  3   a command was cut short (timeout, connection lost, killed by a signal)
  4   a host was unreachable (refused, connect timeout, auth failed, host key)
  5   a remote command exited with a non-zero status
  130 interrupted
  When several apply, the first of 1, 130, 4, 3, 5 wins.
exec takes -l, -P, -t, -k, -J, --insecure as run does.
exec exits with the remote status, 128+N for signal N, 255 on connection errors.
`;
