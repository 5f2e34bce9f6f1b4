import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { haveTool } from '../load/test-toolchain.ts';
import { scanAccounts } from './accounts.ts';
import { scanCredentials } from './credentials.ts';
import { md5Crypt } from './md5-crypt.ts';
import { scanPem } from './pem.ts';

const NOW = new Date('2025-06-01T00:00:00Z');

describe('accounts', () => {
  test('flags empty passwords, extra UID 0 and hashes in passwd', () => {
    const f = scanAccounts(
      [
        'root:x:0:0:root:/root:/bin/sh',
        'toor:x:0:0::/:/bin/sh',
        'guest::1000:1000::/:/bin/sh',
        'daemon:*:1:1::/:/bin/false',
      ].join('\n'),
      'etc/passwd',
      'passwd',
    );
    assert.deepEqual(f.map((x) => `${x.kind}:${x.detail.user}`).sort(), ['empty-password:guest', 'extra-uid0:toor']);
  });
  test('finds default passwords behind md5-crypt, never copying the hash', () => {
    const admin = '$1$abcdefgh$l/LAqC8oJERu7Cmx6trtY/'; // openssl passwd -1 -salt abcdefgh admin
    assert.equal(md5Crypt('admin', 'abcdefgh'), admin);
    const strong = '$6$saltsalt$' + 'a'.repeat(86);
    const f = scanAccounts(
      `root:${admin}:19000:0:99999:7:::\nuser:${strong}:19000::::::\nold:abJnggxhB/yWI:1::::::\n`,
      'etc/shadow',
      'shadow',
    );
    assert.deepEqual(
      f.map((x) => `${x.kind}:${x.detail.user}`),
      ['default-password:root', 'weak-password-hash:old'],
    );
    assert.ok(!JSON.stringify(f).includes(admin));
  });
});

describe('credentials', () => {
  test('finds hard-coded secrets and redacts them', () => {
    const f = scanCredentials(
      'user=admin\npassword = "S3cretPass"\nwpa_passphrase=hunter22\n<psk>abcdef123</psk>\npassword=' +
        '$' +
        '{PASS}' +
        '\n',
      'etc/app.conf',
    );
    assert.equal(f.length, 3);
    assert.ok(!JSON.stringify(f).includes('S3cretPass'));
    assert.equal(f[0]!.detail.line, 2);
  });
});

describe('PEM', () => {
  test('unencrypted and encrypted private keys', () => {
    const opensshNone = btoa('openssh-key-v1\0\0\0\0\x04none\0\0\0\x04none');
    const text = `-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n-----BEGIN OPENSSH PRIVATE KEY-----\n${opensshNone}\n-----END OPENSSH PRIVATE KEY-----\n`;
    const f = scanPem(text, 'etc/ssl/key.pem', NOW);
    assert.deepEqual(
      f.map((x) => x.severity),
      ['critical', 'medium', 'critical'],
    );
  });
  test('certificate expiry from DER validity', (t) => {
    if (!haveTool('openssl')) return t.skip('openssl CLI missing to make a test certificate');
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        '/dev/null',
        '-subj',
        '/CN=device.example',
        '-days',
        '30',
        '-out',
        '-',
      ],
      { encoding: 'utf8' },
    );
    const cert = r.stdout;
    const fresh = scanPem(cert, 'c.pem', new Date());
    assert.equal(fresh[0]!.kind, 'certificate');
    assert.equal(fresh[0]!.detail.subject, 'device.example');
    assert.equal(fresh[0]!.detail.selfIssued, true);
    const later = scanPem(cert, 'c.pem', new Date(Date.now() + 40 * 86400_000));
    assert.equal(later[0]!.kind, 'certificate-expired');
    assert.deepEqual(scanPem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', 'x', NOW), []);
  });
});
