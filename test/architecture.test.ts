/**
 * The rules of the house that an import can break (ARCHITECTURE.md): the vocabulary rooms import
 * nothing of ours, the simulator shares only them with the gateway, and policies know no HTTP.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const src = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every source file of a room (relative to src/) with the rooms (first folder under src/) it imports. */
function importsOf(room: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts')) {
        const rooms = new Set<string>();
        for (const [, specifier] of fs.readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
          if (!specifier!.startsWith('.')) continue;
          const target = path.relative(src, path.resolve(path.dirname(file), specifier!));
          rooms.add(target.includes(path.sep) ? target.split(path.sep)[0]! : target);
        }
        found.set(path.relative(src, file), rooms);
      }
    }
  };
  walk(path.join(src, room));
  return found;
}

function assertImportsOnly(room: string, allowed: readonly string[]): void {
  const files = importsOf(room);
  assert.ok(files.size > 0, `src/${room} has sources`);
  for (const [file, rooms] of files) {
    for (const imported of rooms) {
      assert.ok(imported === room || allowed.includes(imported), `${file} imports ${imported}: src/${room} may import only ${[room, ...allowed].join(', ')}`);
    }
  }
}

test('protocol/ and audio/ import nothing of ours', () => {
  assertImportsOnly('protocol', []);
  assertImportsOnly('audio', []);
});

test('the simulator shares protocol/ and audio/ with the gateway and nothing else', () => {
  assertImportsOnly('sim', ['protocol', 'audio']);
});

test('core/, access/, cluster/ and webhooks/ never import http/', () => {
  for (const room of ['core', 'access', 'cluster', 'webhooks']) {
    for (const [file, rooms] of importsOf(room)) assert.ok(!rooms.has('http'), `${file} imports http/`);
  }
});
