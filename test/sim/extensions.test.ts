/**
 * `extensions: false` (`--no-extensions`): the core answers exactly the product's command set, so
 * our extensions are unknown types, answered word for word as any unknown type is; by default they
 * are served.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { commands } from '../../src/protocol/catalog.js';
import { decodeRequest } from '../../src/sim/dispatcher.js';
import type { RunningSimulator } from '../../src/sim/simulator.js';
import { CoreClient, startTestSimulator } from './harness.js';

const extensionTypes = commands.filter((c) => c.extension).map((c) => c.type);

test('the catalog marks RECORDINGINFO as an extension (the flag the command set is derived from)', () => {
  assert.ok(extensionTypes.includes('RECORDINGINFO'));
});

test('decodeRequest: an extension is an unknown type without extensions, a known one with them', () => {
  const xml = '<REQUEST><TYPE>RECORDINGINFO</TYPE><REQUESTID>3</REQUESTID><IDENT>46</IDENT></REQUEST>';
  const without = decodeRequest(xml, { extensions: false });
  assert.ok(!without.ok);
  assert.deepEqual(without.outcome, { code: 10, message: 'Unknown message type RECORDINGINFO' });
  assert.ok(decodeRequest(xml, { extensions: true }).ok);
  assert.ok(decodeRequest(xml).ok, 'extensions are on by default');
});

for (const extensions of [false, true]) {
  describe(`a core with extensions ${extensions ? 'on (the default)' : 'off'}`, () => {
    let sim: RunningSimulator;
    let client: CoreClient;
    before(async () => {
      sim = await startTestSimulator(extensions ? {} : { extensions: false });
      client = await CoreClient.connect(sim.port);
    });
    after(async () => {
      client.close();
      await sim.close();
    });

    test(extensions ? 'RECORDINGINFO is answered' : 'RECORDINGINFO answers exactly what an unknown TYPE answers', async () => {
      const unknown = await client.raw('<REQUEST><TYPE>NOSUCHTYPE</TYPE><REQUESTID>7</REQUESTID><IDENT>46</IDENT></REQUEST>');
      assert.equal(unknown.code, 10);
      for (const type of extensionTypes) {
        const answer = await client.raw(`<REQUEST><TYPE>${type.toLowerCase()}</TYPE><REQUESTID>7</REQUESTID><IDENT>46</IDENT></REQUEST>`);
        if (extensions) {
          assert.notEqual(answer.code, 10, answer.xml);
          assert.equal(answer.requestType, type);
        } else {
          assert.equal(answer.code, 10);
          assert.equal(answer.type, 'API_UNKNOWN_MESSAGE_TYPE');
          assert.equal(answer.xml, unknown.xml.replaceAll('NOSUCHTYPE', type));
        }
      }
      assert.equal((await client.request('TEST', {}, 8)).code, 20, 'the product commands are served either way');
    });

    test('the event port says the same of an extension as of an unknown type', async () => {
      const events = await CoreClient.connect(sim.eventPort);
      try {
        const unknown = await events.raw('<REQUEST><TYPE>NOSUCHTYPE</TYPE><REQUESTID>1</REQUESTID></REQUEST>');
        const extension = await events.raw('<REQUEST><TYPE>RECORDINGINFO</TYPE><REQUESTID>1</REQUESTID></REQUEST>');
        if (extensions) assert.equal(extension.code, 15, 'API_INVALID_REQUEST_TYPE: a known API-port command sent to the event port');
        else assert.equal(extension.xml, unknown.xml.replaceAll('NOSUCHTYPE', 'RECORDINGINFO'));
      } finally {
        events.close();
      }
    });
  });
}
