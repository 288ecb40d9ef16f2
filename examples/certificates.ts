// OpenSSH certificates: a CA signs a user key (server trusts the CA with
// trustedUserCaKeys) and a host key (client trusts it with a known_hosts
// @cert-authority line). createCertificate/CertifiedKey are not re-exported
// from the package root yet (see docs/API.md, "Certificates").
import { connect, listen, generatePrivateKey, parseKnownHosts, PermissionDenied } from '../src/index.js';
import { createCertificate, CertifiedKey } from '../src/crypto/keys/certificate.js';

const ca = generatePrivateKey('ssh-ed25519', { comment: 'example CA' });

// A user certificate for principal "deploy", valid for one hour, and a host certificate for 127.0.0.1.
const userKey = generatePrivateKey('ssh-ed25519');
const userCert = createCertificate(ca, userKey, { type: 'user', keyId: 'deploy-key', principals: ['deploy'], validBefore: '+1h' });
const hostKey = generatePrivateKey('ecdsa-sha2-nistp256');
const hostCert = createCertificate(ca, hostKey, { type: 'host', keyId: 'web1', principals: ['127.0.0.1'] });
console.log(userCert.exportCertificate().slice(0, 60) + '...');
console.log('keyId', userCert.keyId, 'principals', userCert.principals, 'extensions', userCert.extensions.length);

await using server = await listen({
  host: '127.0.0.1',
  port: 0,
  serverHostKeys: [new CertifiedKey(hostKey, hostCert)], // the server presents its certificate
  trustedUserCaKeys: [ca.publicOnly()],
  processFactory: (p) => { p.stdout.write(`welcome ${p.username}\n`); p.exit(0); },
});

// The client trusts any host key signed by the CA for this host (no per-host entry needed).
const knownHosts = parseKnownHosts(`@cert-authority 127.0.0.1,[127.0.0.1]:${server.port} ${ca.exportPublicKey()}\n`);
const opts = { port: server.port, knownHosts, config: null, agentPath: null } as const;

{
  await using conn = await connect('127.0.0.1', { ...opts, username: 'deploy', clientKeys: [new CertifiedKey(userKey, userCert)] });
  console.log((await conn.run('x')).stdout.toString().trim(), '| host key algorithm:', conn.algorithms?.hostKey);
}
try {
  await connect('127.0.0.1', { ...opts, username: 'root', clientKeys: [new CertifiedKey(userKey, userCert)] });
} catch (err) {
  if (err instanceof PermissionDenied) console.log('principal "root" not in the certificate:', err.code);
}
