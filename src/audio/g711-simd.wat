;; G.711 (mu-law and A-law) to 16-bit little-endian PCM, sixteen codes at a time with WebAssembly
;; SIMD. The source of g711-simd-module.ts (`npm run wasm` assembles it); g711-decoder.ts drives it.
;;
;; Memory: the caller copies up to 65536 codes to [0, 65536) and calls `mulaw(n)` or `alaw(n)`;
;; the samples are then at [65536, 65536 + 2n). Codes are taken sixteen at a time, so up to fifteen
;; codes past n are decoded too, into samples past 2n, which the caller does not read.
;;
;; Both laws are sign + 3-bit segment + 4-bit mantissa, and within a segment the magnitude is linear
;; in the mantissa: magnitude = base[segment] + mantissa * 8 * step[segment].
;;   mu-law (code inverted): base = 132 * (2^segment - 1), step = 2^segment; this is Sun's
;;     ((mantissa << 3) + 0x84) << segment) - 0x84.
;;   A-law (code ^ 0x55): segment 0 is 16 * mantissa + 8; segment s > 0 is (16 * mantissa + 264)
;;     << (s - 1); as base and step: base = 8, 264, 528, ... and step = 2, 2, 4, 8, ...
;; Looked up per lane with i8x16.swizzle: step fits a byte, base is split into its two bytes.
;; After the XOR below, a set top bit means a negative sample for both laws (A-law is XORed with
;; 0xD5 rather than 0x55 to flip its sign bit to match). The largest magnitude is 32256.
(module
  (memory (export "memory") 3)

  (func $decode (param $n i32) (param $xor i32) (param $step v128) (param $base v128)
    (local $i i32)
    (local $flip v128) (local $baseLow v128) (local $baseHigh v128)
    (local $code v128) (local $segment v128) (local $mantissa8 v128) (local $stepOf v128)
    (local $low v128) (local $high v128) (local $magnitude v128) (local $negative v128)
    (local.set $flip (i8x16.splat (local.get $xor)))
    ;; base as two byte tables: the low byte of each 16-bit entry, and the high byte.
    (local.set $baseLow (i8x16.shuffle 0 2 4 6 8 10 12 14 0 0 0 0 0 0 0 0 (local.get $base) (local.get $base)))
    (local.set $baseHigh (i8x16.shuffle 1 3 5 7 9 11 13 15 1 1 1 1 1 1 1 1 (local.get $base) (local.get $base)))
    (block $done
      (loop $sixteen
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $code (v128.xor (v128.load (local.get $i)) (local.get $flip)))
        (local.set $segment (v128.and (i8x16.shr_u (local.get $code) (i32.const 4)) (v128.const i8x16 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7)))
        (local.set $mantissa8 (i8x16.shl (v128.and (local.get $code) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)) (i32.const 3)))
        (local.set $stepOf (i8x16.swizzle (local.get $step) (local.get $segment)))
        (local.set $low (i8x16.swizzle (local.get $baseLow) (local.get $segment)))
        (local.set $high (i8x16.swizzle (local.get $baseHigh) (local.get $segment)))
        ;; Codes 0-7: magnitude = mantissa * 8 * step + base (its bytes interleaved back into
        ;; 16-bit lanes), then negated where the sign says: (m ^ -1) - (-1) = -m.
        (local.set $magnitude (i16x8.add
          (i16x8.extmul_low_i8x16_u (local.get $mantissa8) (local.get $stepOf))
          (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $low) (local.get $high))))
        (local.set $negative (i16x8.shr_s (i16x8.extend_low_i8x16_s (local.get $code)) (i32.const 15)))
        (v128.store offset=65536 (i32.shl (local.get $i) (i32.const 1))
          (i16x8.sub (v128.xor (local.get $magnitude) (local.get $negative)) (local.get $negative)))
        ;; Codes 8-15, the same.
        (local.set $magnitude (i16x8.add
          (i16x8.extmul_high_i8x16_u (local.get $mantissa8) (local.get $stepOf))
          (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $low) (local.get $high))))
        (local.set $negative (i16x8.shr_s (i16x8.extend_high_i8x16_s (local.get $code)) (i32.const 15)))
        (v128.store offset=65552 (i32.shl (local.get $i) (i32.const 1))
          (i16x8.sub (v128.xor (local.get $magnitude) (local.get $negative)) (local.get $negative)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $sixteen))))

  (func (export "mulaw") (param $n i32)
    (call $decode (local.get $n) (i32.const 0xff)
      (v128.const i8x16 1 2 4 8 16 32 64 128 0 0 0 0 0 0 0 0)
      (v128.const i16x8 0 132 396 924 1980 4092 8316 16764)))

  (func (export "alaw") (param $n i32)
    (call $decode (local.get $n) (i32.const 0xd5)
      (v128.const i8x16 2 2 4 8 16 32 64 128 0 0 0 0 0 0 0 0)
      (v128.const i16x8 8 264 528 1056 2112 4224 8448 16896))))
