/**
 * How long the core pool waits before trying to reach the XML core again after failed attempts.
 * Pure arithmetic for `core/`: no sockets, no timers.
 */

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/**
 * The delay after `failures` consecutive failed attempts (1 after the first): the step doubles up to
 * `maxMs`, and the delay is drawn from the upper half of the step ("equal jitter"). Jitter keeps
 * gateways that lost the same core from reconnecting in lockstep when it returns; keeping the lower
 * half out still guarantees a core that refuses connections is not hammered.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const doublings = Math.min(Math.max(failures - 1, 0), 30);
  const step = Math.min(policy.maxMs, policy.initialMs * 2 ** doublings);
  return step / 2 + random() * (step / 2);
}
