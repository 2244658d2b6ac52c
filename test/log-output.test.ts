/** The log output: lines batched into one write per flush interval, bounded when the stream stalls. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { pino } from 'pino';
import { LogOutput } from '../src/log-output.js';

function recorder(stall = false): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string, _encoding, done) {
      writes.push(chunk);
      if (!stall) done(); // a stalled stream never acknowledges: its writableLength only grows
    },
  });
  return { stream, writes };
}

test('the lines of one flush interval go out in one write, in order', async () => {
  const { stream, writes } = recorder();
  const logger = pino({ level: 'info', base: undefined }, new LogOutput(stream, { flushMs: 20 }));
  for (let i = 0; i < 50; i++) logger.info({ i }, 'request');
  await sleep(1);
  assert.equal(writes.length, 0, 'nothing is written before the interval ends');
  for (let i = 50; i < 100; i++) logger.info({ i }, 'request');
  await sleep(60);
  assert.equal(writes.length, 1);
  const lines = writes[0]!.trimEnd().split('\n').map((l) => JSON.parse(l) as { i: number; msg: string });
  assert.deepEqual(lines.map((l) => l.i), Array.from({ length: 100 }, (_, i) => i));
});

test('a batch past batchBytes is written at once, and flushSync writes the rest', () => {
  const { stream, writes } = recorder();
  const output = new LogOutput(stream, { batchBytes: 100 });
  for (let i = 0; i < 10; i++) output.write(`${'x'.repeat(40)}\n`);
  assert.equal(writes.length, 3, 'three lines of 41 bytes pass 100');
  output.flushSync();
  assert.equal(writes.join('').length, 410);
});

test('when the stream stalls, lines past the bound are dropped instead of held', async () => {
  const { stream } = recorder(true);
  const output = new LogOutput(stream, { batchBytes: 1000, maxPendingBytes: 5000 });
  let accepted = 0;
  for (let i = 0; i < 1000; i++) if (output.write(`${'y'.repeat(99)}\n`)) accepted++;
  assert.equal(accepted, 50, '5000 bytes of 100-byte lines');
  output.flush();
  // What was accepted, plus the one line that reports the drops.
  assert.ok(stream.writableLength > 5000 && stream.writableLength < 5200, `${stream.writableLength} bytes held`);
  assert.equal(output.write('more\n'), false);
});

test('the drop count is written once the stream takes lines again', async () => {
  const { stream, writes } = recorder();
  const output = new LogOutput(stream, { maxPendingBytes: 10 });
  output.write('a\n');
  assert.equal(output.write(`${'z'.repeat(20)}\n`), false, 'past the bound: dropped');
  output.flushSync();
  const text = writes.join('');
  assert.match(text, /^a\n/);
  assert.match(text, /"msg":"1 log lines dropped: the log output is not keeping up"/);
});
