/**
 * Used event tickets, recorded in Redis so that a ticket opens one stream across all the replicas
 * (`SET NX` with the ticket's remaining life as expiry: the first replica to record it wins).
 * While Redis cannot be reached, each replica falls back on its own record, as without Redis: a
 * ticket is then used once per replica within its 30 s, rather than refused everywhere. What this
 * replica recorded stays in its own record too, so that Redis going away does not make a ticket it
 * already took usable again here.
 */
import { LocalTicketLedger, type TicketLedger } from '../access/event-tickets.js';
import type { SharedState } from './redis.js';

export class SharedTicketLedger implements TicketLedger {
  private readonly local = new LocalTicketLedger();

  constructor(private readonly shared: SharedState) {}

  async claim(id: string, expiresAtMs: number, now: number): Promise<boolean> {
    if (!this.local.claim(id, expiresAtMs, now)) return false;
    if (!this.shared.up) return true;
    try {
      const recorded = await this.shared.redis.set(`${this.shared.prefix}ticket:${id}`, '1', 'PX', Math.max(1, expiresAtMs - now), 'NX');
      return recorded === 'OK';
    } catch {
      return true;
    }
  }
}
