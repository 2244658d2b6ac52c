/**
 * Faults a test (or a person) can inject into the simulator to see how a client copes with a core
 * that is slow, silent, drops a connection mid-answer, answers in fragments or answers the wrong
 * request. A fault matches the next requests of a TYPE (or any), `times` times or until cleared.
 * The request itself is always carried out, as a real core would carry out what it received.
 */

export const faultKinds = ['delay', 'silent', 'drop', 'drop-before-answer', 'fragment', 'mismatch'] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface FaultRule {
  kind: FaultKind;
  /** Only requests of this TYPE (any when absent). */
  type?: string;
  /** delay: before the answer; fragment: between fragments. */
  delayMs?: number;
  /** drop: bytes of the answer written before the connection is cut; fragment: fragment size. */
  bytes?: number;
  /** How many requests it applies to; absent means until cleared. */
  times?: number;
}

export interface ActiveFault extends FaultRule {
  id: number;
}

export class FaultPlan {
  private rules: ActiveFault[] = [];
  private nextId = 1;

  add(rule: FaultRule): ActiveFault {
    if (!faultKinds.includes(rule.kind)) throw new Error(`unknown fault kind ${String(rule.kind)}; use one of ${faultKinds.join(', ')}`);
    const active: ActiveFault = { ...rule, ...(rule.type ? { type: rule.type.toUpperCase() } : {}), id: this.nextId++ };
    this.rules.push(active);
    return active;
  }

  clear(): void {
    this.rules = [];
  }

  list(): ActiveFault[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /** The fault for a request of this type, if any, counting it as used. */
  take(type: string): ActiveFault | undefined {
    const rule = this.rules.find((r) => !r.type || r.type === type);
    if (!rule) return undefined;
    if (rule.times !== undefined && --rule.times <= 0) this.rules = this.rules.filter((r) => r !== rule);
    return rule;
  }
}
