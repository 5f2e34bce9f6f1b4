import { createPublicKey } from 'node:crypto';
import { FleetwardError } from '../../protocol/errors.ts';
import { DEVICE_ID_RE } from '../../protocol/topics.ts';
import { ACCEPTED_CURVES, IDENTITY_LIMITS, type IdentityErrorCode } from './model.ts';
import { x509 } from './x509-util.ts';

// @peculiar/x509 names CN; serialNumber has no short name there, so it appears as its OID.
const CN_TYPES = new Set(['CN', '2.5.4.3']);
const SERIAL_TYPES = new Set(['serialNumber', '2.5.4.5']);

const fail = (code: IdentityErrorCode, message: string, cause?: unknown) =>
  new FleetwardError<IdentityErrorCode>(code, message, cause === undefined ? undefined : { cause });

export interface ParsedCsr {
  /** The subject CN: the device id the device asks for. */
  deviceId: string;
  /** The subject serialNumber, when the device states its hardware serial. */
  hardwareSerial: string | null;
  publicKey: x509.PublicKey;
  /** `ec P-256`, `rsa 3072`: for the ledger. */
  keyDescription: string;
}

/**
 * Parses and checks a PKCS#10 request from an untrusted device, in a fixed order: size, syntax, key
 * strength, proof of possession (the signature), then the subject. Throws CSR_INVALID or CSR_WEAK_KEY.
 */
export async function parseCsr(pem: string, limits = IDENTITY_LIMITS): Promise<ParsedCsr> {
  if (pem.length > limits.csrPemChars) throw fail('CSR_INVALID', `the CSR exceeds ${limits.csrPemChars} characters`);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    const blocks = x509.PemConverter.decode(pem);
    if (blocks.length !== 1) throw new Error(`expected one PEM block, found ${blocks.length}`);
    if (!/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(pem)) throw new Error('not a certificate request');
    csr = new x509.Pkcs10CertificateRequest(blocks[0]!);
  } catch (err) {
    throw fail('CSR_INVALID', 'not a PEM certificate request', err);
  }
  const keyDescription = checkKey(csr.publicKey);
  let signed = false;
  try {
    signed = await csr.verify();
  } catch (err) {
    throw fail('CSR_INVALID', 'the CSR signature cannot be verified', err);
  }
  // Proof of possession: only the holder of the private key can have signed the request.
  if (!signed) throw fail('CSR_INVALID', 'the CSR signature does not verify');
  const { deviceId, hardwareSerial } = readSubject(csr);
  return { deviceId, hardwareSerial, publicKey: csr.publicKey, keyDescription };
}

/** EC on P-256/P-384, or RSA of at least 2048 bits; anything else is refused by name. */
function checkKey(publicKey: x509.PublicKey): string {
  let ko: ReturnType<typeof createPublicKey>;
  try {
    ko = createPublicKey({ key: Buffer.from(publicKey.rawData), format: 'der', type: 'spki' });
  } catch (err) {
    // Node cannot even load it: an unknown curve or a malformed key; either way not one we accept.
    throw fail('CSR_WEAK_KEY', 'the CSR key type or curve is not accepted (use ECDSA P-256)', err);
  }
  const details = ko.asymmetricKeyDetails ?? {};
  if (ko.asymmetricKeyType === 'ec') {
    const curve = details.namedCurve ?? 'unknown';
    if (!(ACCEPTED_CURVES as readonly string[]).includes(curve))
      throw fail('CSR_WEAK_KEY', `curve ${curve} is not accepted (use P-256 or P-384)`);
    return `ec ${curve === 'prime256v1' ? 'P-256' : 'P-384'}`;
  }
  if (ko.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < IDENTITY_LIMITS.minRsaBits)
      throw fail('CSR_WEAK_KEY', `RSA keys need at least ${IDENTITY_LIMITS.minRsaBits} bits (got ${bits})`);
    return `rsa ${bits}`;
  }
  throw fail('CSR_WEAK_KEY', `key type ${ko.asymmetricKeyType} is not accepted (use ECDSA P-256)`);
}

/** The subject may hold exactly one CN (the device id) and at most one serialNumber; nothing else. */
function readSubject(csr: x509.Pkcs10CertificateRequest): { deviceId: string; hardwareSerial: string | null } {
  const rdns = csr.subjectName.toJSON();
  const cns: string[] = [];
  const serials: string[] = [];
  for (const rdn of rdns) {
    for (const [type, values] of Object.entries(rdn)) {
      const text = values.map(String);
      if (CN_TYPES.has(type)) cns.push(...text);
      else if (SERIAL_TYPES.has(type)) serials.push(...text);
      else throw fail('CSR_INVALID', `the CSR subject may hold only CN and serialNumber (found ${type})`);
    }
  }
  if (cns.length !== 1) throw fail('CSR_INVALID', 'the CSR subject must hold exactly one CN: the device id');
  const deviceId = cns[0]!;
  if (!DEVICE_ID_RE.test(deviceId))
    throw fail('CSR_INVALID', 'the CSR CN must be a device id: letters, digits, . _ -; up to 128');
  if (serials.length > 1) throw fail('CSR_INVALID', 'the CSR subject holds several serialNumbers');
  const hardwareSerial = serials[0] ?? null;
  if (hardwareSerial !== null && !/^[\x21-\x7e]{1,128}$/.test(hardwareSerial))
    throw fail('CSR_INVALID', 'the CSR serialNumber must be 1–128 printable characters');
  return { deviceId, hardwareSerial };
}
