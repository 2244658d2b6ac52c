import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreFailureSummary } from '../../src/core/failure-summary.js';
import type { CoreFailureEvent } from '../../src/core/pool.js';

const failure = (kind: CoreFailureEvent['kind'], type = 'TEST'): CoreFailureEvent => ({ type, kind, mayHaveReachedCore: false, seconds: 0 });

test('a storm of failures is a line for the first of each kind and a count per interval, never a line per request', () => {
  const lines: [Record<string, unknown>, string][] = [];
  const summary = new CoreFailureSummary({ warn: (fields, message) => lines.push([fields, message]) }, 60_000);
  for (let i = 0; i < 66_000; i++) summary.note(failure('unavailable', i % 2 ? 'TEST' : 'CALLLIST'));
  summary.note(failure('timeout'));
  for (let i = 0; i < 100; i++) summary.note(failure('aborted'));
  assert.deepEqual(
    lines.map(([fields]) => fields.kind),
    ['unavailable', 'timeout'],
    'one line at once for each kind; a caller that went away is not the core failing',
  );
  summary.flush();
  assert.deepEqual(lines.slice(2), [[{ kind: 'unavailable', failed: 66_000, seconds: 60 }, 'core requests failed']]);
  // A new interval starts with a line again.
  summary.note(failure('unavailable'));
  assert.equal(lines.length, 4);
  summary.flush();
  assert.equal(lines.length, 4, 'a single failure needs no summary');
});

test('the interval ends by itself', async () => {
  const lines: string[] = [];
  const summary = new CoreFailureSummary({ warn: (_fields, message) => lines.push(message) }, 50);
  summary.note(failure('timeout'));
  summary.note(failure('timeout'));
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.deepEqual(lines, ['a core request failed; others like it are counted', 'core requests failed']);
});
