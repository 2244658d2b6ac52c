/**
 * LINK_SIGNING_KEY: the keys that sign what the gateway hands out to stand for a credential for a
 * moment, signed media links and event tickets. Several keys may be given, comma-separated: the
 * first signs, all verify, so a key is rotated by putting the new one first and dropping the old
 * one once what it signed has expired (a day at most). Each key is known by an id derived from it
 * (a hash, not the key), carried in what it signed, so a verifier picks the key without trying
 * each. Every replica that should honour a link or a ticket needs the same keys. Without any, a
 * key is made at start: what it signs works on this process only, until it stops.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
}

/** The shortest key taken: 32 characters, 192 bits or more of a random base64 string. */
export const minSigningKeyLength = 32;
/** Keys verified at once; more would only be keys forgotten in the configuration. */
export const maxSigningKeys = 4;

interface SigningKey {
  id: string;
  secret: Buffer;
}

/** An HMAC-SHA256, base64url: 43 characters. */
const macLength = 43;

export class SigningKeys {
  private readonly keys: readonly SigningKey[];
  /** The keys were made at start, not configured. */
  readonly generated: boolean;

  /** `secrets` undefined or empty: a key is made now. */
  constructor(secrets?: readonly string[]) {
    const given = (secrets ?? []).filter((secret) => secret !== '');
    if (given.length > maxSigningKeys) throw new SigningKeyError(`LINK_SIGNING_KEY holds at most ${maxSigningKeys} keys (the first signs, the others only verify)`);
    for (const secret of given) {
      if (secret.length < minSigningKeyLength) throw new SigningKeyError(`each key of LINK_SIGNING_KEY must be at least ${minSigningKeyLength} characters (e.g. openssl rand -base64 32)`);
      if (/[\s,]/.test(secret)) throw new SigningKeyError('a key of LINK_SIGNING_KEY may hold no space nor comma');
    }
    this.generated = given.length === 0;
    const secretsUsed = this.generated ? [randomBytes(32).toString('base64url')] : given;
    this.keys = secretsUsed.map((secret) => ({ id: keyIdOf(secret), secret: Buffer.from(secret, 'utf8') }));
    if (new Set(this.keys.map((k) => k.id)).size !== this.keys.length) throw new SigningKeyError('LINK_SIGNING_KEY names the same key twice');
  }

  /** The id of the key that signs. */
  get signingKeyId(): string {
    return this.keys[0]!.id;
  }

  /** The MAC of `message` (which names the key id itself) with the signing key. */
  sign(message: string): { keyId: string; mac: string } {
    const key = this.keys[0]!;
    return { keyId: key.id, mac: macOf(key.secret, message) };
  }

  /** Whether `mac` is the MAC of `message` with the key `keyId`; compared in constant time. */
  verify(keyId: string, message: string, mac: string): boolean {
    const key = this.keys.find((k) => k.id === keyId);
    if (!key || mac.length !== macLength) return false;
    return timingSafeEqual(Buffer.from(macOf(key.secret, message)), Buffer.from(mac));
  }
}

/** Eight base64url characters of a hash of the key: tells keys apart, reveals nothing of them. */
function keyIdOf(secret: string): string {
  return createHash('sha256').update('uptivity-gateway signing key id\0').update(secret).digest('base64url').slice(0, 8);
}

function macOf(secret: Buffer, message: string): string {
  return createHmac('sha256', secret).update(message).digest('base64url');
}

/** A key id as carried in a link or a ticket. */
export const keyIdPattern = /^[A-Za-z0-9_-]{8}$/;
