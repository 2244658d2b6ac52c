/**
 * G.711 codes to 16-bit little-endian PCM, in bulk: the hottest loop of a WAV export of telephony
 * recordings (a MULTIEXPORT of mu-law and A-law calls decodes every byte it sends).
 *
 * It runs as WebAssembly SIMD (g711-simd.wat), sixteen codes per step: a JavaScript table lookup
 * compiles to some twenty instructions per code, with a type and a bounds check on every access,
 * which made it half of the gateway's own instructions in a MULTIEXPORT (measured under callgrind).
 * Where this machine's WebAssembly has no SIMD (x86 before SSE4.1), the tables of g711.ts give the
 * same result, more slowly.
 */
import { ALAW_DECODE, MULAW_DECODE } from './g711.js';
import { g711SimdModule } from './g711-simd-module.js';

export type G711Law = 'mulaw' | 'alaw';

/**
 * `codes` decoded to 16-bit little-endian PCM: into the start of `samples` when given (it must hold
 * twice as many bytes as there are codes), else into a new buffer. Returns the samples written.
 */
export type G711Decoder = (codes: Uint8Array, law: G711Law, samples?: Buffer) => Buffer;

/** Where g711-simd.wat takes its codes and leaves its samples, and how many codes one call takes. */
const CODES_AT = 0;
const SAMPLES_AT = 65_536;
const CODES_PER_CALL = 65_536;

interface G711SimdExports {
  memory: WebAssembly.Memory;
  mulaw: (codes: number) => void;
  alaw: (codes: number) => void;
}

function samplesFor(codes: Uint8Array, into: Buffer | undefined): Buffer {
  if (!into) return Buffer.allocUnsafeSlow(codes.length * 2);
  if (into.length < codes.length * 2) throw new RangeError(`${codes.length} codes need ${codes.length * 2} bytes of samples, not ${into.length}`);
  return into.subarray(0, codes.length * 2);
}

function instantiateSimd(): G711SimdExports | undefined {
  try {
    return new WebAssembly.Instance(new WebAssembly.Module(g711SimdModule)).exports as unknown as G711SimdExports;
  } catch {
    return undefined; // no WebAssembly SIMD here
  }
}

function simdDecoder(simd: G711SimdExports): G711Decoder {
  // The memory never grows, so this view stays valid. One instance serves every stream of the
  // thread: a call runs to its end before another can start.
  const memory = new Uint8Array(simd.memory.buffer);
  return (codes, law, into) => {
    const decode = law === 'mulaw' ? simd.mulaw : simd.alaw;
    const samples = samplesFor(codes, into);
    for (let at = 0; at < codes.length; at += CODES_PER_CALL) {
      const count = Math.min(CODES_PER_CALL, codes.length - at);
      memory.set(codes.subarray(at, at + count), CODES_AT);
      decode(count);
      samples.set(memory.subarray(SAMPLES_AT, SAMPLES_AT + count * 2), at * 2);
    }
    return samples;
  };
}

/** The tables of g711.ts, one code at a time. */
export const tableDecoder: G711Decoder = (codes, law, into) => {
  const table = law === 'mulaw' ? MULAW_DECODE : ALAW_DECODE;
  const samples = samplesFor(codes, into);
  for (let i = 0; i < codes.length; i++) samples.writeInt16LE(table[codes[i]!]!, 2 * i);
  return samples;
};

const simd = instantiateSimd();

/** The SIMD decoder, or undefined where WebAssembly has no SIMD. */
export const simdG711Decoder: G711Decoder | undefined = simd && simdDecoder(simd);

/** The fastest decoder this machine has. */
export const decodeG711: G711Decoder = simdG711Decoder ?? tableDecoder;
