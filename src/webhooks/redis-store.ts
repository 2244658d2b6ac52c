/**
 * The webhooks the replicas share (REDIS_URL), under `<REDIS_PREFIX>webhooks:`:
 *
 * - `subscriptions`: a hash of the subscriptions, by id.
 * - per subscription `sub:<id>:`: `queue`, a Stream of the deliveries waiting, in order, read
 *   through the consumer group `workers`; `deliveries` and `bodies`, hashes of each delivery's state
 *   (attempts, next attempt, last answer) and of the body it sends; `index`, `delivered` and
 *   `failed`, sorted sets in the order deliveries were made, for the list (the last 100 delivered
 *   and 1000 dead-lettered are kept); `lease`, the claim on the queue.
 * - `due`: a sorted set of the queues waiting, by when their head is due; `cursor`, the id of the
 *   last event fanned out; `seq`, the order of deliveries; `wake`, the channel that tells workers of
 *   new work; `fanout:lease`, the one replica fanning out.
 *
 * The replica that works a queue holds its lease (renewed while it works): the queue's head is
 * read into the group (XREADGROUP), or, when another replica read it and died, taken over from the
 * group's pending entries (XAUTOCLAIM) once that replica's lease expired. An outcome is recorded by
 * a script that checks the lease first, so a replica that lost its lease (a pause, a partition)
 * records nothing over its successor's work. Every change of state that spans keys is one script:
 * the fan-out's cursor moves in the same step as the deliveries it queues.
 *
 * Scripts build the keys of a subscription from the prefix they are given, so this needs one Redis
 * (or Sentinel), not Redis Cluster, like the rest of the gateway's shared state.
 */
import type { Redis } from 'ioredis';
import { Lease } from '../cluster/event-log.js';
import type { SharedState } from '../cluster/redis.js';
import type { FanOutTurn, QueueClaim, QueueHead, WebhookStore } from './store.js';
import { defaultMaxQueued, keptDelivered, keptFailed, isQueued, overflowed, type Delivery, type DeliveryStatus, type QueuedMessage, type Subscription } from './subscription.js';
import { WakeUp } from './wake-up.js';

const group = 'workers';

/** Helpers every script starts with; ARGV[1] is always the key base `<prefix>webhooks:`. */
const library = `
local base = ARGV[1]
local function key(sub, what) return base .. 'sub:' .. sub .. ':' .. what end
local function trim(sub, which, keep)
  local excess = redis.call('ZCARD', key(sub, which)) - keep
  if excess <= 0 then return end
  local old = redis.call('ZRANGE', key(sub, which), 0, excess - 1)
  for _, id in ipairs(old) do
    redis.call('HDEL', key(sub, 'deliveries'), id)
    redis.call('HDEL', key(sub, 'bodies'), id)
    redis.call('ZREM', key(sub, 'index'), id)
  end
  redis.call('ZREMRANGEBYRANK', key(sub, which), 0, excess - 1)
end
-- From ARGV[at]: now, kept failed, a count, then five values per message: subscription, delivery id,
-- status (pending, or failed when its queue was full), state, body.
local function enqueue(at)
  local now, keepFailed, n = ARGV[at], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local queued = 0
  for i = 0, n - 1 do
    local a = at + 3 + i * 5
    local sub, id, status = ARGV[a], ARGV[a + 1], ARGV[a + 2]
    if redis.call('HEXISTS', base .. 'subscriptions', sub) == 1 then
      local seq = redis.call('INCR', base .. 'seq')
      redis.call('HSET', key(sub, 'deliveries'), id, ARGV[a + 3])
      redis.call('HSET', key(sub, 'bodies'), id, ARGV[a + 4])
      redis.call('ZADD', key(sub, 'index'), seq, id)
      if status == 'failed' then
        redis.call('ZADD', key(sub, 'failed'), seq, id)
        trim(sub, 'failed', keepFailed)
      else
        if redis.call('EXISTS', key(sub, 'queue')) == 0 then
          redis.call('XGROUP', 'CREATE', key(sub, 'queue'), '${group}', '0', 'MKSTREAM')
        end
        redis.call('XADD', key(sub, 'queue'), '*', 'delivery', id)
        redis.call('ZADD', base .. 'due', 'NX', now, sub)
        queued = queued + 1
      end
    end
  end
  if queued > 0 then redis.call('PUBLISH', base .. 'wake', '1') end
end
`;

/** ARGV: base, id, subscription, max. */
const addSubscriptionScript = `${library}
if redis.call('HEXISTS', base .. 'subscriptions', ARGV[2]) == 1 then return 0 end
if redis.call('HLEN', base .. 'subscriptions') >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', base .. 'subscriptions', ARGV[2], ARGV[3])
return 1`;

/** ARGV: base, id, subscription, '1' when on, now. Turned on with deliveries waiting, the queue is due. */
const replaceSubscriptionScript = `${library}
if redis.call('HEXISTS', base .. 'subscriptions', ARGV[2]) == 0 then return 0 end
redis.call('HSET', base .. 'subscriptions', ARGV[2], ARGV[3])
if ARGV[4] == '1' and redis.call('XLEN', key(ARGV[2], 'queue')) > 0 then
  redis.call('ZADD', base .. 'due', 'NX', ARGV[5], ARGV[2])
  redis.call('PUBLISH', base .. 'wake', '1')
end
return 1`;

/** ARGV: base, then enqueue's. */
const enqueueScript = `${library}
enqueue(2)
return 1`;

/** ARGV: base, fan-out lease key, its value (holder and token), cursor expected ('' for none), new cursor, then enqueue's. */
const commitFanOutScript = `${library}
if redis.call('GET', ARGV[2]) ~= ARGV[3] then return 0 end
if (redis.call('GET', base .. 'cursor') or '') ~= ARGV[4] then return 0 end
redis.call('SET', base .. 'cursor', ARGV[5])
enqueue(6)
return 1`;

/** ARGV: base, subscription. An empty queue is no longer due (atomically: a message queued meanwhile keeps it due). */
const idleScript = `${library}
if redis.call('XLEN', key(ARGV[2], 'queue')) > 0 then return 0 end
redis.call('ZREM', base .. 'due', ARGV[2])
return 1`;

/** ARGV: base, subscription. Parked only if still off (or gone): turning it on meanwhile wins. */
const parkScript = `${library}
local kept = redis.call('HGET', base .. 'subscriptions', ARGV[2])
if kept and cjson.decode(kept).enabled then return 0 end
redis.call('ZREM', base .. 'due', ARGV[2])
return 1`;

/**
 * ARGV: base, lease key, lease value, subscription, entry, delivery id, state, status, next attempt,
 * now, kept delivered, kept failed. Nothing is recorded unless the lease is still the caller's.
 */
const settleScript = `${library}
if redis.call('GET', ARGV[2]) ~= ARGV[3] then return 0 end
local sub, entry, id, status = ARGV[4], ARGV[5], ARGV[6], ARGV[8]
if redis.call('HEXISTS', base .. 'subscriptions', sub) == 0 then return 0 end
redis.call('HSET', key(sub, 'deliveries'), id, ARGV[7])
if status == 'delivered' or status == 'failed' then
  redis.call('XACK', key(sub, 'queue'), '${group}', entry)
  redis.call('XDEL', key(sub, 'queue'), entry)
  local seq = redis.call('ZSCORE', key(sub, 'index'), id)
  if seq then redis.call('ZADD', key(sub, status), seq, id) end
  trim(sub, status, tonumber(status == 'delivered' and ARGV[11] or ARGV[12]))
  if redis.call('XLEN', key(sub, 'queue')) > 0 then
    redis.call('ZADD', base .. 'due', ARGV[10], sub)
  else
    redis.call('ZREM', base .. 'due', sub)
  end
else
  redis.call('ZADD', base .. 'due', ARGV[9], sub)
end
return 1`;

class SharedClaim implements QueueClaim {
  constructor(
    readonly subscriptionId: string,
    readonly lease: Lease,
    readonly token: number,
    readonly value: string,
  ) {}
}

class SharedTurn {
  constructor(
    readonly token: number,
    readonly value: string,
  ) {}
}

type RawEntry = [id: string, fields: string[]];

export interface RedisWebhookStoreOptions {
  /** This replica's name in leases and in the consumer group (no spaces). */
  holder: string;
  /** How long a claim on a queue, or the fan-out's turn, lasts unrenewed: a dead replica's work is taken over after it. */
  leaseMs: number;
  maxQueued?: number;
}

export class RedisWebhookStore implements WebhookStore {
  private readonly base: string;
  private readonly maxQueued: number;
  private readonly fanOutLease: Lease;
  private subscriber: Redis | undefined;
  private readonly work = new WakeUp();

  constructor(
    private readonly shared: SharedState,
    private readonly options: RedisWebhookStoreOptions,
  ) {
    this.base = `${shared.prefix}webhooks:`;
    this.maxQueued = options.maxQueued ?? defaultMaxQueued;
    this.fanOutLease = new Lease(shared, 'webhooks:fanout', options.holder, options.leaseMs);
  }

  private get redis(): Redis {
    return this.shared.redis;
  }

  private key(subscriptionId: string, what: string): string {
    return `${this.base}sub:${subscriptionId}:${what}`;
  }

  private run(script: string, ...args: (string | number)[]): Promise<unknown> {
    return this.redis.eval(script, 0, this.base, ...args);
  }

  async addSubscription(subscription: Subscription, max: number): Promise<boolean> {
    return (await this.run(addSubscriptionScript, subscription.id, JSON.stringify(subscription), max)) === 1;
  }

  async subscription(id: string): Promise<Subscription | undefined> {
    const text = await this.redis.hget(`${this.base}subscriptions`, id);
    return text === null ? undefined : (JSON.parse(text) as Subscription);
  }

  async subscriptions(): Promise<Subscription[]> {
    const all = await this.redis.hvals(`${this.base}subscriptions`);
    return all.map((text) => JSON.parse(text) as Subscription).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async replaceSubscription(subscription: Subscription): Promise<boolean> {
    return (await this.run(replaceSubscriptionScript, subscription.id, JSON.stringify(subscription), subscription.enabled ? '1' : '0', Date.now())) === 1;
  }

  async removeSubscription(id: string): Promise<boolean> {
    const parts = ['queue', 'deliveries', 'bodies', 'index', 'delivered', 'failed', 'lease', 'fence'].map((what) => this.key(id, what));
    const results = await this.redis
      .multi()
      .hdel(`${this.base}subscriptions`, id)
      .zrem(`${this.base}due`, id)
      .del(...parts)
      .exec();
    return results?.[0]?.[1] === 1;
  }

  /** enqueue's arguments: each message pending, or failed when its queue is full already. */
  private async enqueueArguments(messages: readonly QueuedMessage[]): Promise<{ args: (string | number)[]; states: Delivery[] }> {
    const subscriptions = [...new Set(messages.map((m) => m.delivery.subscriptionId))];
    const pipeline = this.redis.pipeline();
    for (const id of subscriptions) pipeline.xlen(this.key(id, 'queue'));
    const lengths = new Map(((await pipeline.exec()) ?? []).map(([, length], i) => [subscriptions[i]!, Number(length ?? 0)]));
    const args: (string | number)[] = [Date.now(), keptFailed, messages.length];
    const states: Delivery[] = [];
    for (const { delivery, body } of messages) {
      const queued = lengths.get(delivery.subscriptionId) ?? 0;
      const state = queued >= this.maxQueued ? overflowed(delivery, this.maxQueued) : delivery;
      if (state.status === 'pending') lengths.set(delivery.subscriptionId, queued + 1);
      args.push(state.subscriptionId, state.id, state.status, JSON.stringify(state), body);
      states.push(state);
    }
    return { args, states };
  }

  async enqueue(messages: readonly QueuedMessage[]): Promise<Delivery[]> {
    if (messages.length === 0) return [];
    const { args, states } = await this.enqueueArguments(messages);
    await this.run(enqueueScript, ...args);
    return states;
  }

  private async states(subscriptionId: string, ids: readonly string[]): Promise<Delivery[]> {
    if (ids.length === 0) return [];
    const texts = await this.redis.hmget(this.key(subscriptionId, 'deliveries'), ...ids);
    return texts.filter((text): text is string => text !== null).map((text) => JSON.parse(text) as Delivery);
  }

  async deliveries(subscriptionId: string, filter: { status?: DeliveryStatus | undefined; limit: number }): Promise<Delivery[]> {
    const { status, limit } = filter;
    if (status === 'delivered' || status === 'failed' || status === undefined) {
      const ids = await this.redis.zrevrange(this.key(subscriptionId, status ?? 'index'), 0, limit - 1);
      return this.states(subscriptionId, ids);
    }
    // Waiting deliveries are the queue's entries (at most its bound), newest first.
    const entries = (await this.redis.xrevrange(this.key(subscriptionId, 'queue'), '+', '-', 'COUNT', this.maxQueued)) as RawEntry[];
    const waiting = await this.states(subscriptionId, entries.map(([, fields]) => fields[1]!));
    return waiting.filter((d) => d.status === status).slice(0, limit);
  }

  async message(subscriptionId: string, deliveryId: string): Promise<QueuedMessage | undefined> {
    const [state, body] = await Promise.all([this.redis.hget(this.key(subscriptionId, 'deliveries'), deliveryId), this.redis.hget(this.key(subscriptionId, 'bodies'), deliveryId)]);
    return state === null || body === null ? undefined : { delivery: JSON.parse(state) as Delivery, body };
  }

  async pendingCount(): Promise<number> {
    const ids = await this.redis.hkeys(`${this.base}subscriptions`);
    if (ids.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.xlen(this.key(id, 'queue'));
    return ((await pipeline.exec()) ?? []).reduce((sum, [, length]) => sum + Number(length ?? 0), 0);
  }

  async takeFanOut(): Promise<FanOutTurn | undefined> {
    const token = await this.fanOutLease.acquire();
    return token === undefined ? undefined : new SharedTurn(token, `${this.options.holder} ${token}`);
  }

  async keepFanOut(turn: FanOutTurn): Promise<boolean> {
    return this.fanOutLease.renew((turn as SharedTurn).token);
  }

  async leaveFanOut(turn: FanOutTurn): Promise<void> {
    await this.fanOutLease.release((turn as SharedTurn).token);
  }

  async fanOutCursor(): Promise<number | undefined> {
    const text = await this.redis.get(`${this.base}cursor`);
    return text === null ? undefined : Number(text);
  }

  async commitFanOut(turn: FanOutTurn, from: number | undefined, to: number, messages: readonly QueuedMessage[]): Promise<boolean> {
    const { args } = await this.enqueueArguments(messages);
    const committed = await this.run(commitFanOutScript, this.fanOutLease.leaseKey, (turn as SharedTurn).value, from === undefined ? '' : String(from), String(to), ...args);
    return committed === 1;
  }

  async dueQueues(now: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(`${this.base}due`, '-inf', now, 'LIMIT', 0, limit);
  }

  async nextDueAt(): Promise<number | undefined> {
    const [, score] = await this.redis.zrange(`${this.base}due`, 0, 0, 'WITHSCORES');
    return score === undefined ? undefined : Number(score);
  }

  async claimQueue(subscriptionId: string): Promise<QueueClaim | undefined> {
    const lease = new Lease(this.shared, `webhooks:sub:${subscriptionId}`, this.options.holder, this.options.leaseMs);
    const token = await lease.acquire();
    return token === undefined ? undefined : new SharedClaim(subscriptionId, lease, token, `${this.options.holder} ${token}`);
  }

  async keepQueue(claim: QueueClaim): Promise<boolean> {
    const { lease, token } = claim as SharedClaim;
    return lease.renew(token);
  }

  async releaseQueue(claim: QueueClaim): Promise<void> {
    const { lease, token } = claim as SharedClaim;
    await lease.release(token);
  }

  /** The queue's first entry: the one a dead holder left pending, or else the next never read. */
  private async firstEntry(subscriptionId: string): Promise<RawEntry | undefined> {
    const queue = this.key(subscriptionId, 'queue');
    const consumer = this.options.holder;
    // The claim on the queue is ours: whatever another consumer left pending is ours to finish.
    const [, claimed] = (await this.redis.xautoclaim(queue, group, consumer, 0, '0-0', 'COUNT', 1)) as [string, RawEntry[], string[]];
    if (claimed.length > 0) return claimed[0];
    const read = (await this.redis.xreadgroup('GROUP', group, consumer, 'COUNT', 1, 'STREAMS', queue, '>')) as [string, RawEntry[]][] | null;
    return read?.[0]?.[1]?.[0];
  }

  async head(claim: QueueClaim): Promise<QueueHead | undefined> {
    const id = claim.subscriptionId;
    // A few rounds at most: an entry queued between reading and the idle check is read next round.
    for (let round = 0; round < 5; round++) {
      let entry: RawEntry | undefined;
      try {
        entry = await this.firstEntry(id);
      } catch (error) {
        // No queue (nor group) yet: nothing was ever queued, or the subscription is gone.
        if (!/NOGROUP|no such key/i.test((error as Error).message)) throw error;
      }
      if (!entry) {
        if ((await this.run(idleScript, id)) === 1) return undefined;
        continue;
      }
      const deliveryId = entry[1][1]!;
      const message = await this.message(id, deliveryId);
      if (message && isQueued(message.delivery.status)) return { ...message, entry: entry[0] };
      // An entry whose delivery is gone (its subscription was removed and made again): let it go.
      await this.redis.multi().xack(this.key(id, 'queue'), group, entry[0]).xdel(this.key(id, 'queue'), entry[0]).exec();
    }
    // Still due: the next round of the dispatcher looks again.
    return undefined;
  }

  async postpone(claim: QueueClaim, at: number): Promise<void> {
    await this.redis.zadd(`${this.base}due`, at, claim.subscriptionId);
  }

  async park(claim: QueueClaim): Promise<void> {
    await this.run(parkScript, claim.subscriptionId);
  }

  async settle(claim: QueueClaim, head: QueueHead, delivery: Delivery): Promise<boolean> {
    const { lease, value } = claim as SharedClaim;
    const settled = await this.run(
      settleScript,
      lease.leaseKey,
      value,
      claim.subscriptionId,
      head.entry,
      delivery.id,
      JSON.stringify(delivery),
      delivery.status,
      delivery.nextAttemptAt ?? Date.now(),
      Date.now(),
      keptDelivered,
      keptFailed,
    );
    return settled === 1;
  }

  /** Woken by the PUBLISH of the scripts that queue work, on a connection of its own (a subscriber can send nothing else). */
  waitForWork(timeoutMs: number): Promise<void> {
    if (!this.subscriber) {
      // Its own options: it waits for Redis rather than fail, and ioredis subscribes again after a reconnection.
      const subscriber = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
      subscriber.on('error', () => undefined);
      subscriber.on('message', () => this.work.wake());
      subscriber.subscribe(`${this.base}wake`).catch(() => undefined);
      this.subscriber = subscriber;
    }
    return this.work.wait(timeoutMs);
  }

  async close(): Promise<void> {
    this.work.wake();
    this.subscriber?.disconnect();
  }
}
