/**
 * In-process fan-out of CALLCOPYEVENTs from the command handlers to the event port's subscribers.
 * Events are built once, as XML, and each subscriber filters by class and device. While a hold is
 * on (a command waiting for its recordings to reach the product's database), events are kept back
 * and delivered, in the order published, once no hold is left.
 */
import { buildEvent } from '../protocol/xml.js';
import { findEventSpec, type EventClass } from '../protocol/events.js';

export interface PublishedEvent {
  eventClass: EventClass;
  eventType: string;
  deviceId: string;
  xml: string;
}

export type EventListener = (event: PublishedEvent) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();
  private holds = 0;
  private held: PublishedEvent[] = [];

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  /**
   * Keep events back until the returned release is called (and every other hold released): the
   * product publishes RECORDINGUPDATE once it "has saved a recording to the database", so no
   * subscriber may hear of a change before the database has it. One queue for all holds, so that
   * subscribers still receive every event in the order it was published.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds > 0) return;
      const held = this.held;
      this.held = [];
      for (const event of held) this.deliver(event);
    };
  }

  /**
   * Publish an event of a documented type. `values` supplies the EVENTDATA fields by name; the
   * fields written, and their order, are the ones the manual documents for that type.
   * `eventXref` ties the event to the REQUESTID of the API command that caused it.
   */
  publish(eventType: string, values: Readonly<Record<string, string | number | null | undefined>>, eventXref: string | number): void {
    const spec = findEventSpec(eventType);
    if (!spec) throw new Error(`undocumented event type ${eventType}`);
    if (this.listeners.size === 0) return;
    const data = spec.fields.map((field) => [field, stringify(values[field])] as const);
    const xml = buildEvent({ eventClass: spec.eventClass, eventType: spec.type, module: spec.module, eventXref }, data);
    const event: PublishedEvent = { eventClass: spec.eventClass, eventType: spec.type, deviceId: stringify(values.DEVICEID), xml };
    if (this.holds > 0) this.held.push(event);
    else this.deliver(event);
  }

  private deliver(event: PublishedEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}

function stringify(value: string | number | null | undefined): string {
  return value === null || value === undefined ? '' : String(value);
}
