"""AsyncSSH client for the fleetssh interop tests (test/helpers/asyncssh.ts).

Reads JSON on stdin: {"port", "knownHosts": path, "cases": [case...]}, where a
case is {"name", "user", "password"?, "keyFile"?, "command", "inputHex"?,
"inputSize"? (random bytes), "env"?, "termType"?, "termSize"? [cols, rows],
"closeWithoutEof"? (open the process, then close the channel at once),
"algs"? {"kex_algs"|"encryption_algs"|"mac_algs"|"compression_algs"|
"server_host_key_algs": [names]}}. Runs each case on a fresh connection and
prints one JSON list with, per case: the output (text when short, else only
its sha256 and length), exit status/signal, what was negotiated, or "error".
"""
import asyncio
import hashlib
import json
import logging
import os
import re
import sys
import warnings

warnings.simplefilter('ignore')
import asyncssh  # noqa: E402

seen = {}


class KexLog(logging.Handler):
    def emit(self, rec):
        m = re.search(r'Key exchange alg: (\S+)', rec.getMessage())
        if m:
            seen['kex'] = m.group(1)


def text(v):
    return v.decode() if isinstance(v, bytes) else v


async def run_case(cfg, c):
    r = {'name': c['name']}
    kw = dict(port=cfg['port'], username=c.get('user', 'alice'), known_hosts=cfg['knownHosts'],
              agent_path=None, client_keys=None, password=None, config=None,
              login_timeout=40, connect_timeout=40)
    if 'password' in c:
        kw['password'] = c['password']
    if 'keyFile' in c:
        kw['client_keys'] = [c['keyFile']]
    kw.update(c.get('algs', {}))
    seen.pop('kex', None)
    try:
        async with asyncssh.connect('127.0.0.1', **kw) as conn:
            r['kex'] = seen.get('kex')
            r['cipher'] = [text(conn._enc_alg_cs), text(conn._enc_alg_sc)]
            r['mac'] = [text(conn._mac_alg_cs), text(conn._mac_alg_sc)]
            r['compression'] = [text(conn._cmp_alg_cs), text(conn._cmp_alg_sc)]
            r['hostKeyType'] = text(conn.get_server_host_key().algorithm)
            r['serverVersion'] = conn.get_extra_info('server_version')
            if 'inputSize' in c:
                data = os.urandom(c['inputSize'])
            else:
                data = bytes.fromhex(c.get('inputHex', ''))
            r['inputSha256'] = hashlib.sha256(data).hexdigest()
            opts = {}
            if 'env' in c:
                opts['env'] = c['env']
            if 'termType' in c:
                opts['term_type'] = c['termType']
                opts['term_size'] = tuple(c['termSize'])
            proc = await conn.create_process(c['command'], encoding=None, **opts)
            if c.get('closeWithoutEof'):
                # Close the channel at once, no EOF first (a client going away).
                proc.close()
                await asyncio.wait_for(proc.wait_closed(), 10)
                r['closed'] = True
                return r
            # conn.run(input=b'') would send no EOF at all (AsyncSSH writes EOF
            # only after non-empty input), so stdin is fed by hand.
            if data:
                proc.stdin.write(data)
            proc.stdin.write_eof()
            res = await asyncio.wait_for(proc.wait(), 30)
            out = res.stdout or b''
            r['stdoutSha256'] = hashlib.sha256(out).hexdigest()
            r['stdoutLength'] = len(out)
            if len(out) <= 65536:
                r['stdout'] = out.decode('utf-8', 'replace')
            r['stderr'] = (res.stderr or b'').decode('utf-8', 'replace')
            r['status'] = res.exit_status
            r['signal'] = res.exit_signal[0] if res.exit_signal else None
    except Exception as e:
        r['error'] = type(e).__name__ + ': ' + str(e)
    return r


async def main():
    cfg = json.load(sys.stdin)
    asyncssh.set_debug_level(2)
    log = logging.getLogger('asyncssh')
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(KexLog())
    out = []
    for c in cfg['cases']:
        out.append(await run_case(cfg, c))
    print(json.dumps({'version': asyncssh.__version__, 'results': out}))


asyncio.run(main())
