/** Base64 without Node's Buffer, so the same code runs in the page, the worker and Node. */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;
// also accept the URL-safe alphabet
LOOKUP['-'.charCodeAt(0)] = 62;
LOOKUP['_'.charCodeAt(0)] = 63;

type BufferLike = { from(b: ArrayBuffer, o: number, l: number): { toString(enc: string): string } };

export function encodeBase64(bytes: Uint8Array): string {
  // Node's Buffer is native; Node's btoa is slow, browsers' is fast.
  const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;
  if (NodeBuffer)
    return NodeBuffer.from(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength).toString(
      'base64',
    );
  // btoa over binary-string chunks (a multiple of 3 bytes, so the pieces concatenate) is ~50x
  // faster than building the string per character; every engine we target has btoa.
  if (typeof btoa === 'function') {
    const CHUNK = 0x8000 * 3;
    const parts: string[] = [];
    for (let i = 0; i < bytes.length; i += CHUNK) {
      const sub = bytes.subarray(i, i + CHUNK);
      let bin = '';
      for (let j = 0; j < sub.length; j += 0x8000) {
        bin += String.fromCharCode.apply(null, sub.subarray(j, j + 0x8000) as unknown as number[]);
      }
      parts.push(btoa(bin));
    }
    return parts.join('');
  }
  const parts: string[] = [];
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
    if (out.length > 65536) {
      parts.push(out);
      out = '';
    }
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += `${ALPHABET[n >> 18]}${ALPHABET[(n >> 12) & 63]}==`;
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += `${ALPHABET[n >> 18]}${ALPHABET[(n >> 12) & 63]}${ALPHABET[(n >> 6) & 63]}=`;
  }
  parts.push(out);
  return parts.join('');
}

export class Base64Error extends Error {}

/** Decodes standard or URL-safe base64; whitespace is ignored, padding is optional. */
export function decodeBase64(text: string): Uint8Array {
  const clean = text.replace(/[\s]/g, '');
  let end = clean.length;
  while (end > 0 && clean.charCodeAt(end - 1) === 61 /* = */) end--;
  if (clean.length - end > 2) throw new Base64Error('too much "=" padding');
  if (end % 4 === 1) throw new Base64Error(`length ${end} is not a valid base64 length`);
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = clean.charCodeAt(i);
    const v = c < 256 ? LOOKUP[c] : -1;
    if (v < 0) throw new Base64Error(`invalid character ${JSON.stringify(clean[i])} at position ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
