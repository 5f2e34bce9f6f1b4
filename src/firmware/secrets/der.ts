/**
 * Just enough DER (ITU-T X.690) to read an X.509 certificate's validity and subject CN
 * (RFC 5280 4.1). Every length is bounds-checked; anything unexpected returns null.
 */
interface Tlv {
  tag: number;
  start: number; // first content byte
  end: number; // one past the last content byte
}

function readTlv(b: Uint8Array, off: number, limit: number): Tlv | null {
  if (off + 2 > limit) return null;
  const tag = b[off]!;
  let len = b[off + 1]!;
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  const end = start + len;
  return end > limit ? null : { tag, start, end };
}

function children(b: Uint8Array, parent: Tlv, max = 16): Tlv[] {
  const out: Tlv[] = [];
  let off = parent.start;
  while (off < parent.end && out.length < max) {
    const t = readTlv(b, off, parent.end);
    if (!t) break;
    out.push(t);
    off = t.end;
  }
  return out;
}

const ascii = (b: Uint8Array, t: Tlv) => String.fromCharCode(...b.subarray(t.start, Math.min(t.end, t.start + 256)));

/** UTCTime (YYMMDDHHMMSSZ, RFC 5280 4.1.2.5.1: YY >= 50 is 19YY) or GeneralizedTime (YYYYMMDDHHMMSSZ). */
function parseTime(b: Uint8Array, t: Tlv): string | null {
  const s = ascii(b, t);
  const m =
    t.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return null;
  const year = t.tag === 0x17 ? (Number(m[1]) >= 50 ? 1900 : 2000) + Number(m[1]) : Number(m[1]);
  const d = new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

const CN_OID = [0x06, 0x03, 0x55, 0x04, 0x03];

function commonName(b: Uint8Array, name: Tlv): string | null {
  for (let i = name.start; i + CN_OID.length < name.end; i++) {
    if (CN_OID.every((x, k) => b[i + k] === x)) {
      const v = readTlv(b, i + CN_OID.length, name.end);
      return v ? ascii(b, v) : null;
    }
  }
  return null;
}

export interface CertFacts {
  notBefore: string;
  notAfter: string;
  subjectCn: string | null;
  selfIssued: boolean;
}

/** Validity and subject of a DER certificate, or null when the bytes are not one. */
export function readCertificate(der: Uint8Array): CertFacts | null {
  const cert = readTlv(der, 0, der.length);
  if (cert?.tag !== 0x30) return null;
  const tbs = children(der, cert)[0];
  if (tbs?.tag !== 0x30) return null;
  const f = children(der, tbs);
  const i = f[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version is optional (v1 certificates)
  const issuer = f[i + 2];
  const validity = f[i + 3];
  const subject = f[i + 4];
  if (!issuer || !validity || !subject || validity.tag !== 0x30) return null;
  const [nb, na] = children(der, validity);
  const notBefore = nb ? parseTime(der, nb) : null;
  const notAfter = na ? parseTime(der, na) : null;
  if (!notBefore || !notAfter) return null;
  const same =
    issuer.end - issuer.start === subject.end - subject.start &&
    der.subarray(issuer.start, issuer.end).every((x, k) => der[subject.start + k] === x);
  return { notBefore, notAfter, subjectCn: commonName(der, subject), selfIssued: same };
}
