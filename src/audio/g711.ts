/**
 * G.711 (mu-law and A-law), the companding telephony recordings are stored in. Pure functions and
 * the decode tables: the gateway's exports and the simulator's recordings share them.
 *
 * The CCITT reference code (Sun's g711.c) works on 14-bit (mu-law) and 13-bit (A-law) linear
 * samples; these take and return 16-bit samples, scaling the way that code does, so the results
 * match other implementations built on it (sox, Python's audioop, most telephony stacks).
 */

/** The code ending each mu-law segment, in 14-bit magnitudes biased by 33 (0x84 at 16 bits). */
const MULAW_SEGMENT_END = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff] as const;
/** The code ending each A-law segment, in 13-bit magnitudes. */
const ALAW_SEGMENT_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff] as const;

function segmentOf(value: number, ends: readonly number[]): number {
  let segment = 0;
  while (segment < ends.length && value > ends[segment]!) segment++;
  return segment;
}

/** ITU-T G.711 mu-law code of a 16-bit linear sample. */
export function linearToMuLaw(sample: number): number {
  const MULAW_BIAS = 0x84 >> 2;
  const MULAW_CLIP = 8159;
  let magnitude = sample >> 2;
  let mask: number;
  if (magnitude < 0) {
    magnitude = -magnitude;
    mask = 0x7f;
  } else {
    mask = 0xff;
  }
  magnitude = Math.min(magnitude, MULAW_CLIP) + MULAW_BIAS;
  const segment = segmentOf(magnitude, MULAW_SEGMENT_END);
  if (segment >= 8) return 0x7f ^ mask;
  return ((segment << 4) | ((magnitude >> (segment + 1)) & 0x0f)) ^ mask;
}

/** The 16-bit linear value of a G.711 mu-law code. */
export function muLawToLinear(code: number): number {
  const u = ~code & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
  // Code 0x7F is mu-law's negative zero; JavaScript's -0 is not a sample value.
  return u & 0x80 && magnitude !== 0 ? -magnitude : magnitude;
}

/** ITU-T G.711 A-law code of a 16-bit linear sample (even bits inverted: the 0x55 XOR). */
export function linearToALaw(sample: number): number {
  let magnitude = sample >> 3;
  let mask: number;
  if (magnitude >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    magnitude = -magnitude - 1;
  }
  const segment = segmentOf(magnitude, ALAW_SEGMENT_END);
  if (segment >= 8) return 0x7f ^ mask;
  const mantissa = segment < 2 ? (magnitude >> 1) & 0x0f : (magnitude >> segment) & 0x0f;
  return ((segment << 4) | mantissa) ^ mask;
}

/**
 * The 16-bit linear value of a G.711 A-law code. A-law has no zero level: its "zero" codes
 * 0xD5 and 0x55 decode to +8 and -8.
 */
export function aLawToLinear(code: number): number {
  const a = (code ^ 0x55) & 0xff;
  let magnitude = (a & 0x0f) << 4;
  const segment = (a & 0x70) >> 4;
  if (segment === 0) magnitude += 8;
  else magnitude = (magnitude + 0x108) << (segment - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

// Decoding runs once per byte of every exported recording: tables keep it a lookup.
/** The 16-bit linear value of each mu-law code, indexed by code. */
export const MULAW_DECODE: Readonly<Int16Array> = Int16Array.from({ length: 256 }, (_, code) => muLawToLinear(code));
/** The 16-bit linear value of each A-law code, indexed by code. */
export const ALAW_DECODE: Readonly<Int16Array> = Int16Array.from({ length: 256 }, (_, code) => aLawToLinear(code));
