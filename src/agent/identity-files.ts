import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentError } from './errors.ts';

/** The files `fleetward agent enroll --out DIR` leaves: the device key, its certificate, the CA. */
export const IDENTITY_FILES = { key: 'key.pem', cert: 'cert.pem', ca: 'ca.pem' } as const;

export interface DeviceIdentity {
  deviceId: string;
  keyPem: string;
  certPem: string;
  caPem: string;
}

/** Reads the identity from DIR; the device id is the certificate's CN. Throws AGENT_IDENTITY_MISSING. */
export async function loadIdentity(dir: string): Promise<DeviceIdentity> {
  let keyPem: string;
  let certPem: string;
  let caPem: string;
  try {
    [keyPem, certPem, caPem] = (await Promise.all(
      [IDENTITY_FILES.key, IDENTITY_FILES.cert, IDENTITY_FILES.ca].map((f) => readFile(join(dir, f), 'utf8')),
    )) as [string, string, string];
  } catch (err) {
    throw agentError('AGENT_IDENTITY_MISSING', 'no enrolled identity in the directory: run fleetward agent enroll', {
      cause: err,
    });
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(safeSubject(certPem))?.[1];
  if (!cn) throw agentError('AGENT_IDENTITY_MISSING', 'the certificate names no device (no CN)');
  return { deviceId: cn, keyPem, certPem, caPem };
}

function safeSubject(pem: string): string {
  try {
    return new X509Certificate(pem).subject;
  } catch (err) {
    throw agentError('AGENT_IDENTITY_MISSING', 'the certificate file is not a certificate', { cause: err });
  }
}
