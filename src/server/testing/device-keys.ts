import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Keys and CSRs made by the real `openssl` command, as a device's own tooling would: including the
 * weak and odd ones our own code refuses to generate (RSA 1024, secp256k1, Ed25519).
 */
export type TestKeyKind = 'p256' | 'p384' | 'secp256k1' | 'rsa1024' | 'rsa2048' | 'ed25519';

const GENPKEY: Record<TestKeyKind, string[]> = {
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  secp256k1: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1'],
  rsa1024: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'],
  rsa2048: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  ed25519: ['-algorithm', 'ED25519'],
};

export function opensslKeyAndCsr(kind: TestKeyKind, subject: string): { keyPem: string; csrPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fleetward-csr-'));
  try {
    const key = join(dir, 'key.pem');
    const csr = join(dir, 'csr.pem');
    execFileSync('openssl', ['genpkey', ...GENPKEY[kind], '-out', key], { stdio: 'pipe' });
    const digest = kind === 'ed25519' ? [] : ['-sha256'];
    execFileSync('openssl', ['req', '-new', '-key', key, '-subj', subject, ...digest, '-out', csr], { stdio: 'pipe' });
    return { keyPem: readFileSync(key, 'utf8'), csrPem: readFileSync(csr, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A self-signed CA and a leaf it signs, made with openssl: a manufacturer's or a foreign CA. */
export function opensslCa(name: string): {
  certPem: string;
  keyPem: string;
  issue(cn: string, days?: number): { certPem: string; keyPem: string };
} {
  const dir = mkdtempSync(join(tmpdir(), 'fleetward-ca-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    run(['genpkey', ...GENPKEY.p256, '-out', 'ca.key']);
    run([
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      `/CN=${name}`,
      '-days',
      '3650',
      '-sha256',
      '-out',
      'ca.pem',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const certPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
    const keyPem = readFileSync(join(dir, 'ca.key'), 'utf8');
    return {
      certPem,
      keyPem,
      issue(cn, days = 365) {
        const d = mkdtempSync(join(tmpdir(), 'fleetward-leaf-'));
        try {
          writeFileSync(join(d, 'ca.pem'), certPem);
          writeFileSync(join(d, 'ca.key'), keyPem);
          writeFileSync(
            join(d, 'ext.cnf'),
            'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n',
          );
          const r = (args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'pipe' });
          r(['genpkey', ...GENPKEY.p256, '-out', 'leaf.key']);
          r(['req', '-new', '-key', 'leaf.key', '-subj', `/CN=${cn}`, '-out', 'leaf.csr']);
          r([
            'x509',
            '-req',
            '-in',
            'leaf.csr',
            '-CA',
            'ca.pem',
            '-CAkey',
            'ca.key',
            '-CAcreateserial',
            '-days',
            String(days),
            '-sha256',
            '-extfile',
            'ext.cnf',
            '-out',
            'leaf.pem',
          ]);
          return {
            certPem: readFileSync(join(d, 'leaf.pem'), 'utf8'),
            keyPem: readFileSync(join(d, 'leaf.key'), 'utf8'),
          };
        } finally {
          rmSync(d, { recursive: true, force: true });
        }
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
