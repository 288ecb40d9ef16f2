// Algorithms: the defaults, OpenSSH's "+x" (append), "-x" (remove) and "^x"
// (put first) forms, and opting in to a legacy algorithm on both sides.
// Self-contained; knownHosts: null because the host key is generated here.
import {
  connect, listen, generatePrivateKey, resolveAlgorithmList,
  DEFAULT_KEX, KEX_ALGORITHMS, DEFAULT_CIPHERS, CIPHER_ALGORITHMS, DEFAULT_MACS, DEFAULT_SIGNATURES, DEFAULT_COMPRESSION, KeyExchangeFailed,
} from '../src/index.js';

console.log('default kex:', DEFAULT_KEX.join(','));
console.log('default ciphers:', DEFAULT_CIPHERS.join(','));
console.log('default macs:', DEFAULT_MACS.join(','));
console.log('default host key/signature:', DEFAULT_SIGNATURES.join(','));
console.log('default compression:', DEFAULT_COMPRESSION.join(','));
console.log('opt-in kex:', KEX_ALGORITHMS.filter((k) => !DEFAULT_KEX.includes(k)).join(','));
console.log('opt-in ciphers:', CIPHER_ALGORITHMS.filter((c) => !DEFAULT_CIPHERS.includes(c)).join(','));

console.log('"+aes256-cbc" ->', resolveAlgorithmList('encryptionAlgs', '+aes256-cbc', CIPHER_ALGORITHMS, DEFAULT_CIPHERS).slice(-2));
console.log('"^chacha20-poly1305@openssh.com" ->', resolveAlgorithmList('encryptionAlgs', '^chacha20-poly1305@openssh.com', CIPHER_ALGORITHMS, DEFAULT_CIPHERS)[0]);
console.log('"-aes128-ctr,aes192-ctr" ->', resolveAlgorithmList('encryptionAlgs', '-aes128-ctr,aes192-ctr', CIPHER_ALGORITHMS, DEFAULT_CIPHERS).join(','));
try {
  resolveAlgorithmList('encryptionAlgs', ['rot13'], CIPHER_ALGORITHMS, DEFAULT_CIPHERS);
} catch (err) {
  console.log('unknown name:', (err as Error).constructor.name, (err as Error).message);
}

// A legacy server that only speaks diffie-hellman-group14-sha1 + aes128-cbc.
await using server = await listen({
  host: '127.0.0.1', port: 0, serverHostKeys: [generatePrivateKey('ssh-ed25519')], passwords: { demo: 'secret' },
  kexAlgs: ['diffie-hellman-group14-sha1'], encryptionAlgs: ['aes128-cbc'], macAlgs: ['hmac-sha1'],
});
const base = { port: server.port, username: 'demo', password: 'secret', knownHosts: null, config: null, agentPath: null, clientKeys: null } as const;
try {
  await connect('127.0.0.1', base);
} catch (err) {
  if (err instanceof KeyExchangeFailed) console.log('defaults vs legacy server:', err.code);
}
await using conn = await connect('127.0.0.1', { ...base, kexAlgs: '+diffie-hellman-group14-sha1', encryptionAlgs: '+aes128-cbc', macAlgs: '+hmac-sha1', rekeySeconds: 600 });
console.log('opted in:', conn.algorithms?.kex, conn.algorithms?.cipherCS, conn.algorithms?.macCS);
