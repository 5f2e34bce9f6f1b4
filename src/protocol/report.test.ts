import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFleetwardError } from './errors.ts';
import { countResets, parseReport, parseReportPayload, REPORT_LIMITS } from './report.ts';
import { sampleReport } from './testing/sample-report.ts';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (isFleetwardError(err)) return err.code;
    throw err;
  }
  return 'none';
};

test('a typical report is a few hundred bytes and parses to its canonical form', () => {
  const bytes = new TextEncoder().encode(JSON.stringify(sampleReport()));
  assert.ok(bytes.byteLength < 600, `${bytes.byteLength} bytes`);
  const r = parseReportPayload(bytes);
  assert.deepEqual(
    r.listening.map((l) => l.port),
    [22, 443],
    'lists are sorted so equal states are equal reports',
  );
  assert.equal(r.seq, 7);
});

test('unknown fields of a later version are accepted and dropped; v is kept', () => {
  const future = { ...sampleReport(), v: 2, gpu: { temp: 80 }, traffic: { ...sampleReport().traffic, extra: 1 } };
  const r = parseReport(future);
  assert.equal(r.v, 2);
  assert.equal('gpu' in r, false);
  assert.equal('extra' in r.traffic, false);
});

test('malformed reports get coded errors, never a crash', () => {
  assert.equal(
    codeOf(() => parseReportPayload('{')),
    'REPORT_NOT_JSON',
  );
  assert.equal(
    codeOf(() => parseReportPayload(new Uint8Array([0xff, 0xfe, 0x7b]))),
    'REPORT_NOT_JSON',
  );
  assert.equal(
    codeOf(() => parseReportPayload('x'.repeat(REPORT_LIMITS.payloadBytes + 1))),
    'REPORT_TOO_LARGE',
  );
  // Multi-byte characters: under the limit in UTF-16 units, over it in UTF-8 bytes.
  assert.equal(
    codeOf(() => parseReportPayload('é'.repeat(REPORT_LIMITS.payloadBytes - 10))),
    'REPORT_TOO_LARGE',
  );
  for (const bad of [
    null,
    [],
    'report',
    { ...sampleReport(), v: 0 },
    { ...sampleReport(), seq: -1 },
    { ...sampleReport(), seq: 1.5 },
    { ...sampleReport(), boot: 'a/b' },
    { ...sampleReport(), traffic: { bytesIn: 'lots' } },
    { ...sampleReport(), listening: [{ proto: 'sctp', port: 1, addr: '0.0.0.0' }] },
    { ...sampleReport(), listening: [{ proto: 'tcp', port: 70000, addr: '0.0.0.0' }] },
    { ...sampleReport(), connections: [{ proto: 'tcp', addr: '999.1.1.1', port: 1, localPort: 1 }] },
    { ...sampleReport(), resets: [{ reason: 'gremlins', count: 1 }] },
    { ...sampleReport(), custom: { 'Bad Name': 1 } },
    { ...sampleReport(), firmware: 'x'.repeat(REPORT_LIMITS.versionChars + 1) },
    { ...sampleReport(), authFailures: Number.MAX_SAFE_INTEGER + 2 },
  ]) {
    assert.equal(
      codeOf(() => parseReport(bad)),
      'REPORT_INVALID',
      JSON.stringify(bad)?.slice(0, 80),
    );
  }
});

test('every list and map is bounded by REPORT_LIMITS', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => ({ proto: 'tcp', port: i + 1, addr: '0.0.0.0' }));
  assert.equal(
    codeOf(() => parseReport(sampleReport({ listening: many(REPORT_LIMITS.listening) as never }))),
    'none',
  );
  assert.equal(
    codeOf(() => parseReport(sampleReport({ listening: many(REPORT_LIMITS.listening + 1) as never }))),
    'REPORT_INVALID',
  );
  const conns = Array.from({ length: REPORT_LIMITS.connections + 1 }, (_, i) => ({
    proto: 'tcp',
    addr: '10.0.0.1',
    port: i + 1,
    localPort: 1000,
  }));
  assert.equal(
    codeOf(() => parseReport(sampleReport({ connections: conns as never }))),
    'REPORT_INVALID',
  );
  const custom = Object.fromEntries(Array.from({ length: REPORT_LIMITS.customMetrics + 1 }, (_, i) => [`m${i}`, i]));
  assert.equal(
    codeOf(() => parseReport(sampleReport({ custom }))),
    'REPORT_INVALID',
  );
});

test('errors name the failing field without echoing the payload', () => {
  try {
    parseReport({ ...sampleReport(), seq: 'secret-looking-value' });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(isFleetwardError(err, 'REPORT_INVALID'));
    const issues = err.details?.issues as Array<{ path: string }>;
    assert.equal(issues[0]?.path, 'seq');
    assert.doesNotMatch(JSON.stringify(err.details), /secret-looking-value/);
  }
});

test('resets split into expected and unexpected as Memfault does', () => {
  const r = sampleReport({
    resets: [
      { reason: 'firmware-update', count: 1 },
      { reason: 'watchdog', count: 3 },
      { reason: 'unknown', count: 2 },
    ],
  });
  assert.deepEqual(countResets(parseReport(r)), { expected: 1, unexpected: 5 });
});

test('IPv6 endpoints are accepted', () => {
  const r = parseReport(
    sampleReport({ connections: [{ proto: 'tcp', addr: '2001:db8::1', port: 443, localPort: 40000 }] }),
  );
  assert.equal(r.connections[0]?.addr, '2001:db8::1');
});
