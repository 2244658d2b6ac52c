/**
 * Dialogic/OKI ADPCM, the "VOX" format of voice-mail and IVR systems: 4 bits per sample, no header,
 * two samples a byte (the earlier in the high nibble), 12-bit samples inside. A file says nothing of
 * its rate; the listener must know it (8 kHz for telephony), so exports of it name the rate elsewhere.
 *
 * The reconstruction is the one ffmpeg (adpcm_ima_oki) and sox use, ((2·code + 1)·step) / 8, so a
 * .vox written here decodes there to exactly the samples decodeVox gives.
 */
import { Transform } from 'node:stream';

/** The OKI step sizes, in 12-bit units. */
const STEP_SIZES = [
  16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66, 73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279,
  307, 337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552,
] as const;
/** How far each magnitude (the low three bits of a code) moves the step index. */
const INDEX_MOVES = [-1, -1, -1, -1, 2, 4, 6, 8] as const;

const SIGN = 8;

/** What encoder and decoder both know after each code: the last sample and the step's index. */
class OkiState {
  predictor = 0;
  stepIndex = 0;

  /** Applies `code` and returns the 12-bit sample it stands for. */
  decode(code: number): number {
    const step = STEP_SIZES[this.stepIndex]!;
    const magnitude = code & 7;
    const difference = ((2 * magnitude + 1) * step) >> 3;
    const predictor = code & SIGN ? this.predictor - difference : this.predictor + difference;
    this.predictor = Math.max(-2048, Math.min(2047, predictor));
    this.stepIndex = Math.max(0, Math.min(STEP_SIZES.length - 1, this.stepIndex + INDEX_MOVES[magnitude]!));
    return this.predictor;
  }

  /** The code for the 12-bit `sample`: the nearest level the decoder can reach from here. Applies it. */
  encode(sample: number): number {
    const difference = sample - this.predictor;
    const step = STEP_SIZES[this.stepIndex]!;
    // Level m reconstructs (2m + 1)·step / 8, the middle of [m·step / 4, (m + 1)·step / 4).
    const magnitude = Math.min(7, Math.floor((Math.abs(difference) * 4) / step));
    const code = difference < 0 ? SIGN | magnitude : magnitude;
    this.decode(code);
    return code;
  }
}

/** 16-bit to the codec's 12 bits: the top twelve, as Dialogic's own converters do. */
function twelveBitsOf(sample16: number): number {
  return sample16 >> 4;
}

/**
 * A stream that takes 16-bit little-endian PCM (mono) and gives VOX bytes, two samples a byte.
 * Chunks may split a sample or a byte pair anywhere; the codec's state carries over. An odd number
 * of samples is completed at the end by coding the last sample twice, so the extra sample a player
 * hears is a repeat rather than a click; half a sample at the end is dropped.
 */
export function voxEncoder(): Transform {
  const state = new OkiState();
  let carry: Buffer | undefined;
  let highNibble: number | undefined;
  let lastSample = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const input = carry ? Buffer.concat([carry, chunk]) : chunk;
      const whole = input.length & ~1;
      carry = whole < input.length ? Buffer.from(input.subarray(whole)) : undefined;
      const out = Buffer.allocUnsafe((whole / 2 + (highNibble === undefined ? 0 : 1)) >> 1);
      let written = 0;
      for (let at = 0; at < whole; at += 2) {
        lastSample = twelveBitsOf(input.readInt16LE(at));
        const code = state.encode(lastSample);
        if (highNibble === undefined) {
          highNibble = code;
        } else {
          out[written++] = (highNibble << 4) | code;
          highNibble = undefined;
        }
      }
      done(null, written > 0 ? out : undefined);
    },
    flush(done) {
      done(null, highNibble === undefined ? undefined : Buffer.of((highNibble << 4) | state.encode(lastSample)));
    },
  });
}

/** The 16-bit samples of VOX `bytes` (two per byte), as a player would hear them. For tests and checks. */
export function decodeVox(bytes: Buffer): Int16Array {
  const state = new OkiState();
  const samples = new Int16Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    samples[2 * i] = state.decode(bytes[i]! >> 4) * 16;
    samples[2 * i + 1] = state.decode(bytes[i]! & 0x0f) * 16;
  }
  return samples;
}
