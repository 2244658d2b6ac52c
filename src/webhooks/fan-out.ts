/**
 * The fan-out: follows the event log and queues each event for every subscription that wants it
 * (a `gap` for all of them). One replica at a time does it (the store's turn, a lease with Redis),
 * from a cursor the store keeps and moves in the same step as the deliveries it queues: a fan-out
 * that dies redoes at most what it had not committed, and never queues an event twice.
 *
 * The first time, the cursor starts at the newest event: webhooks carry what happens from then on,
 * not the log's history.
 */
import type { EventLogReader, EventRecord } from '../core/event-feed.js';
import { subscriptionGapType } from '../core/events.js';
import type { WebhookLog } from './dispatcher.js';
import type { FanOutTurn, WebhookStore } from './store.js';
import { WakeUp } from './wake-up.js';
import { eventMessageId, newDelivery, wants, type QueuedMessage, type Subscription } from './subscription.js';

export interface FanOutOptions {
  store: WebhookStore;
  reader: EventLogReader;
  /** How long the turn lasts unrenewed (renewed three times within it). */
  leaseMs: number;
  log: WebhookLog;
  /**
   * The log is this process's memory (a gateway without Redis): what the core sent before this
   * start, while the gateway was down, is in no log. A cursor left by an earlier run then opens a
   * window nobody can deliver, and every webhook is sent a `gap` for it.
   */
  forgetsAtRestart?: boolean | undefined;
}

/** Events read from the log at once, and deliveries queued in one step at most. */
const readCount = 200;
const maxMessagesPerStep = 2000;

export class WebhookFanOut {
  private running = false;
  private loop: Promise<void> | undefined;
  /** Sleeps between tries, cut short at shutdown. */
  private readonly idle = new WakeUp();
  /** Whether the window before this start was announced (or found empty). */
  private restartAnnounced = false;

  constructor(private readonly options: FanOutOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.idle.wake();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return this.idle.wait(ms);
  }

  private async run(): Promise<void> {
    const { store, reader, leaseMs, log } = this.options;
    const renewEveryMs = Math.max(10, Math.floor(leaseMs / 3));
    let turn: FanOutTurn | undefined;
    let keptAt = 0;
    let failures = 0;
    let lostTurn = false;
    while (this.running) {
      // A turn refused or lost: wait before asking again (a store in this process answers at once, and must not be asked in a tight loop).
      if (lostTurn) await this.sleep(50);
      lostTurn = false;
      try {
        if (!turn) {
          turn = await store.takeFanOut();
          if (!turn) {
            await this.sleep(Math.min(1000, renewEveryMs));
            continue;
          }
          keptAt = performance.now();
        } else if (performance.now() - keptAt >= renewEveryMs) {
          if (!(await store.keepFanOut(turn))) {
            turn = undefined;
            continue;
          }
          keptAt = performance.now();
        }
        const cursor = await store.fanOutCursor();
        if (cursor === undefined) {
          if (!(await store.commitFanOut(turn, undefined, await reader.newestId(), []))) [turn, lostTurn] = [undefined, true];
          // The first start: there was no earlier run to have missed anything.
          this.restartAnnounced = true;
          continue;
        }
        if (this.options.forgetsAtRestart && !this.restartAnnounced) {
          if (!(await store.commitFanOut(turn, cursor, cursor, this.restartGap(cursor, await store.subscriptions())))) [turn, lostTurn] = [undefined, true];
          this.restartAnnounced = true;
          continue;
        }
        let records = await reader.readAfter(cursor, readCount);
        if (records.length === 0) {
          const newest = await reader.newestId();
          // Read again after learning the newest: a record appended between the two reads is then
          // seen, so nothing is skipped by the step below.
          if (newest > cursor) records = await reader.readAfter(cursor, readCount);
          if (records.length === 0 && newest > cursor) {
            // The log holds nothing after the cursor yet has newer records: it started (a gateway's own
            // feed after a restart) or was trimmed after the cursor. Go on from its newest.
            if (!(await store.commitFanOut(turn, cursor, newest, []))) [turn, lostTurn] = [undefined, true];
            continue;
          }
          if (records.length === 0) {
            await reader.waitAfter(cursor, Math.min(1000, renewEveryMs));
            continue;
          }
        }
        const { messages, to } = this.messagesOf(records, await store.subscriptions());
        // Refused: the turn was lost (another replica fans out now) or the cursor moved under us.
        if (!(await store.commitFanOut(turn, cursor, to, messages))) [turn, lostTurn] = [undefined, true];
        failures = 0;
      } catch (error) {
        if (failures++ === 0) log.warn({ reason: (error as Error).message }, 'the webhook fan-out waits: the event log or its store cannot be reached');
        await this.sleep(Math.min(100 * failures, 1000));
      }
    }
    if (turn) await store.leaveFanOut(turn).catch(() => undefined);
  }

  /**
   * A gap from the last event fanned out by the previous run to now, for every webhook that is on.
   * Event ids of either log are times (µs since the epoch, or ms × 1000 and a sequence), so the id
   * tells when the window opened. Its webhook-id names the window: no event shares it.
   */
  private restartGap(cursor: number, subscriptions: readonly Subscription[]): QueuedMessage[] {
    const now = Date.now();
    const from = new Date(Math.floor(cursor / 1000));
    const body = JSON.stringify({
      id: null,
      type: subscriptionGapType,
      from: from.toISOString(),
      to: new Date(now).toISOString(),
      reason: 'the gateway was not running: events of the core in this window were not received',
    });
    return subscriptions
      .filter((s) => s.enabled)
      .map((s) => ({ delivery: newDelivery(s.id, { messageId: `msg_gap_${cursor}_${now}`, eventId: null, eventType: subscriptionGapType }, now), body }));
  }

  /** The deliveries of as many records as fit in one step, and the id of the last record they cover. */
  private messagesOf(records: readonly EventRecord[], subscriptions: readonly Subscription[]): { messages: QueuedMessage[]; to: number } {
    const on = subscriptions.filter((s) => s.enabled);
    const now = Date.now();
    const messages: QueuedMessage[] = [];
    let to = records[0]!.id;
    for (const record of records) {
      const wanting = on.filter((s) => wants(s, record));
      if (messages.length > 0 && messages.length + wanting.length > maxMessagesPerStep) break;
      for (const subscription of wanting) {
        messages.push({ delivery: newDelivery(subscription.id, { messageId: eventMessageId(record.id), eventId: record.id, eventType: record.type }, now), body: record.json });
      }
      to = record.id;
    }
    return { messages, to };
  }
}
