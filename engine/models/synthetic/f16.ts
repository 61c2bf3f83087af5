/**
 * IEEE 754 binary16 conversion. Node 20 has no Math.f16round, and converting
 * through Float32Array first would round twice, which can land on the wrong
 * neighbour for values that sit just beside a half-way point.
 */

const F16_MAX_EXCLUSIVE = 65520; // half-way between 65504 (largest finite) and 2^16: ties go to even, i.e. infinity
const MIN_NORMAL = 2 ** -14;

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Bits of the binary16 value nearest to `value` (round to nearest, ties to even). */
export function float16Bits(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= F16_MAX_EXCLUSIVE) return sign | 0x7c00;
  if (magnitude < MIN_NORMAL) {
    // Scaling by a power of two is exact, so this rounds once; 0x400 (the
    // smallest normal) is the right answer when it rounds up.
    return sign | roundHalfEven(magnitude * 2 ** 24);
  }
  let exponent = Math.floor(Math.log2(magnitude));
  // log2 may be off by one ulp right at powers of two.
  if (2 ** exponent > magnitude) exponent -= 1;
  else if (2 ** (exponent + 1) <= magnitude) exponent += 1;
  let mantissa = roundHalfEven((magnitude / 2 ** exponent - 1) * 1024);
  if (mantissa === 1024) {
    mantissa = 0;
    exponent += 1;
  }
  return sign | ((exponent + 15) << 10) | mantissa;
}

/** The number a binary16 bit pattern stands for. */
export function float16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
