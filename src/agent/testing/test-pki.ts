import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  caPem: string;
  serverKeyPem: string;
  serverCertPem: string;
  /** Writes key.pem, cert.pem, ca.pem for `deviceId` into `dir` (the layout `agent enroll` leaves). */
  issueDevice(deviceId: string, dir: string): void;
}

/**
 * A throwaway CA, server certificate (127.0.0.1, localhost) and device certificates made with the
 * openssl CLI: for agent tests that need a real mTLS broker but not the whole server.
 */
export function makeTestPki(dir: string): TestPki {
  mkdirSync(dir, { recursive: true });
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ecKey = (name: string) => ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', name);
  ecKey('ca.key');
  ssl('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=test-ca', '-days', '2', '-out', 'ca.pem');
  const issue = (name: string, subject: string, ext: string, outDir: string) => {
    ecKey(join(outDir, 'key.pem'));
    ssl('req', '-new', '-key', join(outDir, 'key.pem'), '-subj', subject, '-out', `${name}.csr`);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      join(outDir, 'cert.pem'),
    );
  };
  const serverDir = join(dir, 'server');
  mkdirSync(serverDir, { recursive: true });
  execFileSync(
    'sh',
    [
      '-c',
      `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext; printf 'extendedKeyUsage=clientAuth\\n' > client.ext`,
    ],
    { cwd: dir },
  );
  issue('server', '/CN=localhost', 'server.ext', serverDir);
  const caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
  return {
    caPem,
    serverKeyPem: readFileSync(join(serverDir, 'key.pem'), 'utf8'),
    serverCertPem: readFileSync(join(serverDir, 'cert.pem'), 'utf8'),
    issueDevice(deviceId, out) {
      mkdirSync(out, { recursive: true });
      issue(deviceId, `/CN=${deviceId}`, join(dir, 'client.ext'), out);
      execFileSync('cp', [join(dir, 'ca.pem'), join(out, 'ca.pem')]);
    },
  };
}
