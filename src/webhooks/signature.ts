/**
 * The signature of a delivery, as Standard Webhooks defines it (https://www.standardwebhooks.com):
 * `v1,` and the base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>`, keyed with the
 * bytes the secret's base64 stands for; one per secret in force, space-separated, so a receiver
 * that knows either secret of a rotation accepts the delivery.
 */
import { createHmac } from 'node:crypto';
import { secretKey } from './subscription.js';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signatureOf(secret: string, messageId: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secretKey(secret)).update(`${messageId}.${timestampSeconds}.${body}`).digest('base64');
}

export function signedHeaders(secrets: readonly string[], messageId: string, timestampSeconds: number, body: string): SignedHeaders {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((secret) => `v1,${signatureOf(secret, messageId, timestampSeconds, body)}`).join(' '),
  };
}
