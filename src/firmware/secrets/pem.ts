import type { Finding } from '../model.ts';
import { readCertificate } from './der.ts';

const KEY_RE = /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY)-----([\s\S]{0,20000}?)-----END \1-----/g;
const CERT_RE = /-----BEGIN CERTIFICATE-----([\s\S]{0,20000}?)-----END CERTIFICATE-----/g;
const MAX_PER_FILE = 50;

export function base64ToBytes(b64: string): Uint8Array | null {
  try {
    const bin = atob(b64.replace(/[^A-Za-z0-9+/=]/g, ''));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** OpenSSH key format (PROTOCOL.key): "openssh-key-v1\0", then string ciphername; "none" = unencrypted. */
function opensshEncrypted(body: string): boolean {
  const b = base64ToBytes(body);
  if (!b || b.length < 19) return false;
  const len = (b[15]! << 24) | (b[16]! << 16) | (b[17]! << 8) | b[18]!;
  const cipher = String.fromCharCode(...b.subarray(19, 19 + Math.min(len, 32)));
  return cipher !== 'none';
}

function keyFinding(type: string, body: string, path: string): Finding {
  const encrypted =
    type === 'ENCRYPTED PRIVATE KEY' ||
    /Proc-Type:\s*4,ENCRYPTED/.test(body) ||
    (type === 'OPENSSH PRIVATE KEY' && opensshEncrypted(body));
  return {
    kind: 'private-key',
    severity: encrypted ? 'medium' : 'critical',
    path,
    message: encrypted
      ? `encrypted ${type.toLowerCase()} shipped in the image`
      : `unencrypted ${type.toLowerCase()} shipped in the image`,
    detail: { type, encrypted },
  };
}

/** Certificate finding with expiry measured against the injected `now` (DESIGN rule 8). */
export function certificateFinding(der: Uint8Array, path: string, now: Date): Finding | null {
  const c = readCertificate(der);
  if (!c) return null;
  const expired = Date.parse(c.notAfter) < now.getTime();
  return {
    kind: expired ? 'certificate-expired' : 'certificate',
    severity: expired ? 'low' : 'info',
    path,
    message: expired ? `certificate expired on ${c.notAfter}` : `certificate valid until ${c.notAfter}`,
    detail: { subject: c.subjectCn, notBefore: c.notBefore, notAfter: c.notAfter, selfIssued: c.selfIssued },
  };
}

/** PEM private keys and certificates in a file's text (latin1 view, so binaries are scanned too). */
export function scanPem(text: string, path: string, now: Date): Finding[] {
  const out: Finding[] = [];
  if (!text.includes('-----BEGIN ')) return out;
  for (const m of text.matchAll(KEY_RE)) {
    if (out.length >= MAX_PER_FILE) break;
    out.push(keyFinding(m[1]!, m[2]!, path));
  }
  for (const m of text.matchAll(CERT_RE)) {
    if (out.length >= MAX_PER_FILE) break;
    const der = base64ToBytes(m[1]!);
    const f = der ? certificateFinding(der, path, now) : null;
    if (f) out.push(f);
  }
  return out;
}
