import { firmwareError } from '../errors.ts';

/**
 * Bounds-checked reads over untrusted bytes. Every read checks `off + len <= size` first, so a
 * hostile offset yields ELF_TRUNCATED instead of a RangeError or a read of another buffer's memory.
 */
export class ByteView {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  readonly le: boolean;
  readonly size: number;

  constructor(bytes: Uint8Array, le: boolean) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.le = le;
    this.size = bytes.byteLength;
  }

  has(off: number, len: number): boolean {
    return Number.isSafeInteger(off) && Number.isSafeInteger(len) && off >= 0 && len >= 0 && off + len <= this.size;
  }

  check(off: number, len: number): void {
    if (!this.has(off, len)) {
      throw firmwareError('ELF_TRUNCATED', `read of ${len} bytes at offset ${off} is past the end (${this.size})`);
    }
  }

  u8(off: number): number {
    this.check(off, 1);
    return this.view.getUint8(off);
  }

  u16(off: number): number {
    this.check(off, 2);
    return this.view.getUint16(off, this.le);
  }

  u32(off: number): number {
    this.check(off, 4);
    return this.view.getUint32(off, this.le);
  }

  /** 64-bit field as a number; values beyond 2^53 become MAX_SAFE_INTEGER, which every bounds check rejects. */
  u64(off: number): number {
    this.check(off, 8);
    const v = this.view.getBigUint64(off, this.le);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }

  /** Signed 64-bit d_tag; tags of interest all fit in 32 bits. */
  i64(off: number): number {
    this.check(off, 8);
    const v = this.view.getBigInt64(off, this.le);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
    return Number(v);
  }

  word(off: number, is64: boolean): number {
    return is64 ? this.u64(off) : this.u32(off);
  }

  /** NUL-terminated string at `off`, at most `max` bytes; null when out of bounds or unterminated. */
  cstr(off: number, max = 4096, end = this.size): string | null {
    if (!Number.isSafeInteger(off) || off < 0 || off >= end || end > this.size) return null;
    const stop = Math.min(end, off + max);
    const nul = this.bytes.subarray(off, stop).indexOf(0);
    if (nul < 0) return null;
    return latin1(this.bytes.subarray(off, off + nul));
  }
}

/** Byte-for-byte string (latin1): symbol names are bytes, not UTF-8 text. */
export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 4096)));
  }
  return s;
}
