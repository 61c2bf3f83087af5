/**
 * G.711 mu-law and A-law, the 8-bit companded PCM of telephony (Twilio Media Streams, SIP gateways), expanded to 16-bit
 * linear PCM through a 256-entry table each, as ITU-T G.711 defines them.
 */

function muLawSample(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
}

function aLawSample(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

const MU_LAW = Int16Array.from({ length: 256 }, (_, byte) => muLawSample(byte));
const A_LAW = Int16Array.from({ length: 256 }, (_, byte) => aLawSample(byte));

export type G711Law = 'mulaw' | 'alaw';

/** 16-bit linear samples of G.711 bytes (one sample per byte). */
export function expandG711(bytes: Uint8Array, law: G711Law): Int16Array {
  const table = law === 'mulaw' ? MU_LAW : A_LAW;
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i] as number] as number;
  return out;
}
