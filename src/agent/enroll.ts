// @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { DEVICE_ID_RE } from '../protocol/topics.ts';
import { agentError } from './errors.ts';
import { pinTrustedRoot, updateStateDir } from './update/index.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** The files the agent reads its identity from (agent/identity-files.ts reads the same names). */
const IDENTITY_FILES = { key: 'key.pem', cert: 'cert.pem', ca: 'ca.pem' } as const;

/** Largest enrollment answer we read, bytes: certificates are small; anything bigger is not our server. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface EnrollOptions {
  /** Fleetward API base URL (https:// in production). */
  server: string;
  /** Single-use enrollment (or rotation) token. */
  token: string;
  /** The id this device asks for: the CSR's CN. */
  deviceId: string;
  /** Hardware serial, put in the CSR subject (serialNumber). */
  hardwareSerial?: string | undefined;
  /** Directory for key.pem, cert.pem, ca.pem (created 0700). */
  outDir: string;
  /** PEM CA the server's HTTPS certificate must chain to (pinning); and the CA the answer must name. */
  caPem?: string | undefined;
}

export interface EnrollOutcome {
  deviceId: string;
  mqtt: { host: string; port: number };
  files: { key: string; cert: string; ca: string };
}

interface EnrollAnswer {
  deviceId: string;
  certificate: string;
  chain: string[];
  caCertificate: string;
  mqtt: { host: string; port: number };
  /** The TUF root.json to pin for updates; null when the server has no update repository. */
  tufRoot?: string | null;
}

/**
 * Device-side enrollment: a fresh ECDSA P-256 key made here (it never leaves the device), a CSR naming
 * the device, the token exchanged for a certificate, the answer checked (our key, our name, a chain to
 * the CA), then key, certificate and CA written. Throws AGENT_CONFIG_INVALID, AGENT_ENROLL_FAILED.
 */
export async function enrollDevice(opts: EnrollOptions): Promise<EnrollOutcome> {
  if (!DEVICE_ID_RE.test(opts.deviceId))
    throw agentError('AGENT_CONFIG_INVALID', 'device id: letters, digits, . _ -; up to 128; starts alphanumeric');
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const name: x509.JsonName = [{ CN: [opts.deviceId] }];
  if (opts.hardwareSerial) name.push({ '2.5.4.5': [opts.hardwareSerial] });
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
  });
  const answer = await postEnroll(opts, { token: opts.token, csr: csr.toString('pem') });
  await checkAnswer(answer, opts, keys.publicKey);
  const keyDer = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey);
  const files = {
    key: join(opts.outDir, IDENTITY_FILES.key),
    cert: join(opts.outDir, IDENTITY_FILES.cert),
    ca: join(opts.outDir, IDENTITY_FILES.ca),
  };
  await mkdir(opts.outDir, { recursive: true, mode: 0o700 });
  await writeAtomic(files.ca, answer.caCertificate, 0o644);
  await writeAtomic(files.key, x509.PemConverter.encode(keyDer, 'PRIVATE KEY'), 0o600);
  await writeAtomic(files.cert, [answer.certificate.trim(), ...answer.chain.map((c) => c.trim())].join('\n'), 0o644);
  // The update trust anchor, pinned now over the channel that authenticated this enrollment.
  if (answer.tufRoot) await pinTrustedRoot(updateStateDir(opts.outDir), answer.tufRoot);
  return { deviceId: answer.deviceId, mqtt: answer.mqtt, files };
}

/** The certificate must carry our public key and our name and chain to the CA (pinned, if we had one). */
async function checkAnswer(a: EnrollAnswer, opts: EnrollOptions, publicKey: CryptoKey): Promise<void> {
  try {
    const leaf = new X509Certificate(a.certificate);
    const ca = new X509Certificate(a.caCertificate);
    if (opts.caPem && ca.fingerprint256 !== new X509Certificate(opts.caPem).fingerprint256)
      throw new Error('the server names another CA');
    const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', publicKey as webcrypto.CryptoKey));
    if (!leaf.publicKey.export({ type: 'spki', format: 'der' }).equals(spki)) throw new Error('not our key');
    if (leaf.subject !== `CN=${opts.deviceId}`) throw new Error('not our name');
    let child = leaf;
    for (const pem of a.chain) {
      const parent = new X509Certificate(pem);
      if (!child.verify(parent.publicKey)) throw new Error('the chain does not link');
      child = parent;
    }
    if (!child.verify(ca.publicKey)) throw new Error('the certificate does not chain to the CA');
  } catch (err) {
    throw agentError('AGENT_ENROLL_FAILED', `the enrollment answer is not acceptable: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function postEnroll(opts: EnrollOptions, body: { token: string; csr: string }): Promise<EnrollAnswer> {
  const url = new URL('/device/v1/enroll', opts.server);
  const data = Buffer.from(JSON.stringify(body));
  const secure = url.protocol === 'https:';
  const request = secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': data.length },
        timeout: 30_000,
        ...(secure ? { ca: opts.caPem, minVersion: 'TLSv1.2' as const } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('answer too large'));
          else chunks.push(c);
        });
        res.on('end', () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {}
          if (res.statusCode === 201) return resolve(parsed as unknown as EnrollAnswer);
          const why = typeof parsed.detail === 'string' ? parsed.detail : `HTTP ${res.statusCode}`;
          reject(
            agentError('AGENT_ENROLL_FAILED', `enrollment refused: ${why}`, {
              details: { status: res.statusCode, code: parsed.code },
            }),
          );
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) =>
      reject(agentError('AGENT_ENROLL_FAILED', `cannot reach ${url.origin}: ${err.message}`, { cause: err })),
    );
    req.end(data);
  });
}

/** Write-then-rename, so a crash never leaves half a key (rotation replaces these files in place). */
async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text.endsWith('\n') ? text : `${text}\n`, { mode });
  await rename(tmp, file);
}
