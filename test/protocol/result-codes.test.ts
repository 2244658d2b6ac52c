import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { allResultCodes, httpStatusForResultCode, isSuccessCode, ResultCode, resultTypeOf } from '../../src/protocol/result-codes.js';
import { manualResultCodeTable, specText } from './spec-examples.js';

/** [code, label] rows of the manual's table. */
const manualRows: [number, string][] = manualResultCodeTable
  .split('\n')
  .filter((row) => row.trim() !== '')
  .map((row) => {
    const [code, label] = row.split('\t');
    return [Number(code), label!];
  });

describe('result codes: the table of the manual', () => {
  test('the fixture is the table printed in the API manual v5.7', { skip: specText('000_72b7aa82246178b8.txt') === undefined && 'spec not available' }, () => {
    const manual = specText('000_72b7aa82246178b8.txt')!;
    const start = manual.indexOf('RESULTCODE Return Value\tRESULTTYPE Label');
    assert.notEqual(start, -1);
    const section = manual.slice(start, manual.indexOf('Parameter Definitions', start));
    assert.ok(section.includes(manualResultCodeTable.trim()));
  });

  test('exactly the codes 0..18 and 20..55', () => {
    const expected = [...Array(19).keys(), ...Array.from({ length: 36 }, (_, k) => 20 + k)];
    assert.deepEqual(allResultCodes(), expected);
    assert.deepEqual(manualRows.map(([code]) => code), expected);
  });

  test("every code carries the manual's label; 16 and 17 both read API_INVALID_MESSAGE_FORMAT", () => {
    for (const [code, label] of manualRows) assert.equal(resultTypeOf(code), label, `code ${code}`);
    assert.equal(resultTypeOf(16), 'API_INVALID_MESSAGE_FORMAT');
    assert.equal(resultTypeOf(17), 'API_INVALID_MESSAGE_FORMAT');
  });

  test('codes outside the table have no label', () => {
    for (const code of [19, 56, -1, 100, 20.5, Number.NaN]) assert.equal(resultTypeOf(code), undefined, String(code));
  });

  test('the named constants are the labels, one distinct value each', () => {
    const values = Object.values(ResultCode);
    assert.equal(new Set(values).size, values.length);
    for (const [name, code] of Object.entries(ResultCode)) {
      assert.equal(resultTypeOf(code), name === 'API_INVALID_MESSAGE_FORMAT_17' ? 'API_INVALID_MESSAGE_FORMAT' : name);
    }
    assert.equal(ResultCode.API_OK, 20);
    assert.equal(ResultCode.API_REQUESTID_INVALID, 14);
    assert.equal(ResultCode.API_COMMAND_NOT_SUPPORTED, 49);
  });
});

describe('result codes: HTTP status', () => {
  test('the documented mappings', () => {
    const cases: [keyof typeof ResultCode, number][] = [
      ['API_OK', 200],
      ['API_FILE_NOT_FOUND', 404],
      ['API_DEVICE_INVALID', 404],
      ['API_USER_NOT_FOUND', 404],
      ['API_ROLE_NOT_FOUND', 404],
      ['API_REQUESTID_INVALID', 400],
      ['API_INVALID_MESSAGE_FORMAT', 400],
      ['API_INVALID_MESSAGE_FORMAT_17', 400],
      ['API_USER_ALREADY_EXIST', 409],
      ['API_ROLE_ALREADY_EXISTS', 409],
      ['API_ERROR_RECORDER_NOT_RUNNING', 503],
      ['API_COMMAND_NOT_SUPPORTED', 501],
    ];
    for (const [name, status] of cases) assert.equal(httpStatusForResultCode(ResultCode[name]), status, name);
  });

  test('every code of the table has an HTTP status; success codes and only they are 2xx', () => {
    const successes = allResultCodes().filter(isSuccessCode);
    assert.deepEqual(successes, [0, 13, 20, 37, 43], 'RECORDING_STARTED, RECORDING_STOPPED, OK, RECORDING_UPDATED, STREAMING_STARTED');
    for (const code of allResultCodes()) {
      const status = httpStatusForResultCode(code);
      assert.ok(Number.isInteger(status) && status >= 200 && status <= 599, `code ${code} -> ${status}`);
      assert.equal(status < 300, isSuccessCode(code), `code ${code} -> ${status}`);
      if (!isSuccessCode(code)) assert.ok(status >= 400, `an error code is never 3xx: ${code} -> ${status}`);
    }
  });

  test('a code outside the table is a fault of the core: 502', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 100_000 }).filter((n) => resultTypeOf(n) === undefined), (code) => {
        assert.equal(httpStatusForResultCode(code), 502);
        assert.equal(isSuccessCode(code), false);
      }),
    );
    assert.equal(httpStatusForResultCode(19), 502);
  });
});
