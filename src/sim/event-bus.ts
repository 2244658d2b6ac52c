/**
 * In-process fan-out of CALLCOPYEVENTs from the command handlers to the event port's subscribers.
 * Events are built once, as XML, and each subscriber filters by class and device.
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

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
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
    for (const listener of [...this.listeners]) listener(event);
  }
}

function stringify(value: string | number | null | undefined): string {
  return value === null || value === undefined ? '' : String(value);
}
