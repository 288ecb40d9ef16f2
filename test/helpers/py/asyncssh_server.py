"""AsyncSSH server for the fleetssh interop tests (test/helpers/asyncssh.ts).

Reads one JSON object on stdin's first line: {"authorizedKeys": path,
"users": {name: password}}. Makes host keys of every type in memory, listens
on 127.0.0.1 (port chosen by the OS) and prints one JSON line: {"port",
"version", "kex", "hostKeys": [public lines], "mlkem": bool}. Serves until
stdin reaches EOF, then closes and exits.

Commands run by the process factory:
  bulk N        N random bytes on stdout, their sha256 on stderr, exit 0
  signal NAME   exit with that signal
  (any other)   JSON of command, env, term type/size, user and stdin's
                sha256/length on stdout, "err" on stderr, exit status 6
"""
import asyncio
import hashlib
import json
import logging
import os
import sys
import warnings

warnings.simplefilter('ignore')
import asyncssh  # noqa: E402
from asyncssh.kex import get_kex_algs  # noqa: E402


class Server(asyncssh.SSHServer):
    def __init__(self, users, no_auth):
        self.users = users
        self.no_auth = no_auth

    def begin_auth(self, username):
        # False: this user needs no authentication ("none" succeeds).
        return username not in self.no_auth

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        return self.users.get(username) == password


async def handle(process):
    cmd = process.command or ''
    try:
        if cmd.startswith('bulk '):
            data = os.urandom(int(cmd.split()[1]))
            process.stdout.write(data)
            process.stderr.write(hashlib.sha256(data).hexdigest().encode())
            await process.stdout.drain()
            process.exit(0)
            return
        if cmd.startswith('signal '):
            process.exit_with_signal(cmd.split()[1])
            return
        h = hashlib.sha256()
        n = 0
        while True:
            chunk = await process.stdin.read(65536)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
        info = {
            'command': cmd,
            'env': dict(process.env),
            'termType': process.term_type,
            'termSize': list(process.term_size),
            'stdinSha256': h.hexdigest(),
            'stdinLength': n,
            'user': process.get_extra_info('username'),
        }
        process.stdout.write(json.dumps(info).encode())
        process.stderr.write(b'err')
        await process.stdout.drain()
        process.exit(6)
    except Exception as e:  # report, never hang the client
        process.stderr.write(('server error: %r' % e).encode())
        process.exit(99)


def names(algs):
    return [a.decode() for a in algs]


async def main():
    cfg = json.loads(sys.stdin.readline())
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    keys = []
    for alg, size in (('ssh-ed25519', None), ('ecdsa-sha2-nistp256', None), ('ecdsa-sha2-nistp384', None),
                      ('ecdsa-sha2-nistp521', None), ('ssh-rsa', 2048)):
        keys.append(asyncssh.generate_private_key(alg, key_size=size) if size else asyncssh.generate_private_key(alg))
    users = cfg.get('users', {})
    server = await asyncssh.listen(
        '127.0.0.1', 0,
        server_factory=lambda: Server(users, set(cfg.get('noAuthUsers', []))),
        server_host_keys=keys,
        authorized_client_keys=cfg.get('authorizedKeys'),
        process_factory=handle,
        encoding=None,
        allow_pty=True,
        kex_algs=[a.decode() for a in get_kex_algs() if not a.startswith(b'gss-')],
        encryption_algs=names(asyncssh.encryption.get_encryption_algs()),
        mac_algs=names(asyncssh.mac.get_mac_algs()),
        compression_algs=['zlib@openssh.com', 'zlib', 'none'],
        signature_algs=names(asyncssh.public_key.get_public_key_algs()),
    )
    port = server.sockets[0].getsockname()[1]
    kex = [a.decode() for a in get_kex_algs() if not a.startswith(b'gss-')]
    print(json.dumps({
        'port': port,
        'version': asyncssh.__version__,
        'kex': kex,
        'mlkem': 'mlkem768x25519-sha256' in kex,
        'hostKeys': [k.export_public_key().decode().strip() for k in keys],
    }), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


asyncio.run(main())
