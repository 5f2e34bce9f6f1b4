/** Containers recognised by magic number (the file name is untrusted and ignored). */
export type ContainerKind = 'gzip' | 'tar' | 'zip' | 'squashfs' | 'cramfs' | 'jffs2' | 'ubi' | 'ext' | 'uimage';

function at(b: Uint8Array, off: number, magic: number[]): boolean {
  if (b.length < off + magic.length) return false;
  return magic.every((m, i) => b[off + i] === m);
}

/**
 * Identifies archives and filesystem images from their first bytes. Needs the first 1084 bytes for
 * ext2/3/4 (superblock magic at 1080); 512 suffice for everything else.
 */
export function detectContainer(b: Uint8Array): ContainerKind | null {
  if (at(b, 0, [0x1f, 0x8b])) return 'gzip';
  if (at(b, 0, [0x50, 0x4b, 0x03, 0x04]) || at(b, 0, [0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (at(b, 257, [0x75, 0x73, 0x74, 0x61, 0x72])) return 'tar'; // "ustar" (POSIX.1-1988 and GNU)
  if (at(b, 0, [0x68, 0x73, 0x71, 0x73]) || at(b, 0, [0x73, 0x71, 0x73, 0x68])) return 'squashfs'; // hsqs / sqsh
  if (at(b, 0, [0x45, 0x3d, 0xcd, 0x28]) || at(b, 0, [0x28, 0xcd, 0x3d, 0x45])) return 'cramfs';
  if (at(b, 0, [0x85, 0x19]) || at(b, 0, [0x19, 0x85])) return 'jffs2';
  if (at(b, 0, [0x55, 0x42, 0x49, 0x23])) return 'ubi'; // "UBI#"
  if (at(b, 0, [0x27, 0x05, 0x19, 0x56])) return 'uimage';
  if (at(b, 1080, [0x53, 0xef])) return 'ext';
  return null;
}

/** Bytes needed by detectContainer. */
export const DETECT_BYTES = 1084;

/**
 * Normalises an archive member name, or returns null when it would leave the extraction root:
 * absolute paths, drive letters, and `..` segments (CWE-22, "zip slip").
 */
export function safeMemberPath(name: string): string | null {
  const unified = name.replace(/\\/g, '/');
  if (unified.startsWith('/') || /^[A-Za-z]:/.test(unified) || unified.includes('\0')) return null;
  const parts: string[] = [];
  for (const seg of unified.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') return null;
    parts.push(seg);
  }
  return parts.length === 0 ? null : parts.join('/');
}
