/**
 * ecdh-sha2-nistp256/384/521 (RFC 5656 §4): publics are SEC1 uncompressed
 * points sent as SSH strings; K is the x-coordinate of the shared point as an
 * mpint. node:crypto's ECDH rejects points that are not on the curve.
 */
import { createECDH } from 'node:crypto';
import { encodeMpint, encodeString } from '../protocol/wire.js';
import { KeyExchangeFailed } from '../protocol/errors.js';
import { asKexFailure, unwrapString, type KexPrimitive } from './kex-primitive.js';

export type NistCurve = 'nistp256' | 'nistp384' | 'nistp521';

const curves: Record<NistCurve, { openssl: string; fieldBytes: number }> = {
  nistp256: { openssl: 'prime256v1', fieldBytes: 32 },
  nistp384: { openssl: 'secp384r1', fieldBytes: 48 },
  nistp521: { openssl: 'secp521r1', fieldBytes: 66 },
};

function checkPoint(curve: NistCurve, point: Uint8Array, who: string): void {
  const want = 1 + 2 * curves[curve].fieldBytes;
  if (point.length !== want || point[0] !== 0x04) {
    throw new KeyExchangeFailed(`${who} ${curve} public key must be an uncompressed point of ${want} bytes`);
  }
}

export function nistEcdhKex(curve: NistCurve): KexPrimitive {
  const { openssl } = curves[curve];
  const shared = (ecdh: ReturnType<typeof createECDH>, peer: Uint8Array): Uint8Array =>
    new Uint8Array(asKexFailure(`${curve} public key`, () => ecdh.computeSecret(peer)));
  return {
    generate() {
      const ecdh = createECDH(openssl);
      const pub = ecdh.generateKeys();
      return { publicWire: encodeString(pub), secret: new Uint8Array(ecdh.getPrivateKey()) };
    },
    agree(secret, peerPublicWire) {
      const peer = unwrapString(peerPublicWire, `server ${curve} public key`);
      checkPoint(curve, peer, 'server');
      const ecdh = createECDH(openssl);
      asKexFailure(`${curve} private key`, () => ecdh.setPrivateKey(secret));
      return encodeMpint(shared(ecdh, peer));
    },
    respond(peerPublicWire) {
      const peer = unwrapString(peerPublicWire, `client ${curve} public key`);
      checkPoint(curve, peer, 'client');
      const ecdh = createECDH(openssl);
      const pub = ecdh.generateKeys();
      return { publicWire: encodeString(pub), sharedWire: encodeMpint(shared(ecdh, peer)) };
    },
  };
}
