import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REAL_PROC } from './proc-files.ts';
import { formatAddress, parseSocketTable, readSockets, toSocketView } from './sockets.ts';

const listen = async (host: string): Promise<Server> => {
  const s = createServer((sock) => sock.on('error', () => {}));
  s.listen(0, host);
  await once(s, 'listening');
  return s;
};
const portOf = (s: Server) => (s.address() as { port: number }).port;

test('the real /proc: a TCP listener opened now is listed, and a connection to it is established', async (t) => {
  const server = await listen('127.0.0.1');
  t.after(() => server.close());
  const port = portOf(server);
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  t.after(() => client.destroy());
  const view = await readSockets(REAL_PROC);
  assert.ok(
    view.listening.some((l) => l.proto === 'tcp' && l.port === port && l.addr === '127.0.0.1'),
    `listening has tcp ${port}`,
  );
  assert.ok(
    view.connections.some((c) => c.proto === 'tcp' && c.addr === '127.0.0.1' && c.port === port),
    'the client side shows the remote endpoint',
  );
  assert.ok(
    view.connections.some((c) => c.localPort === port && c.addr === '127.0.0.1' && c.port === client.localPort),
    'the server side shows the inbound peer',
  );
});

test('the real /proc: IPv6 and UDP sockets', async (t) => {
  let v6: Server | null = null;
  try {
    v6 = await listen('::1');
  } catch {
    t.diagnostic('no IPv6 loopback on this machine: v6 covered by fixtures only');
  }
  if (v6) t.after(() => v6.close());
  const udp = createSocket('udp4');
  udp.bind(0, '0.0.0.0');
  await once(udp, 'listening');
  t.after(() => udp.close());
  const view = await readSockets(REAL_PROC);
  if (v6)
    assert.ok(
      view.listening.some((l) => l.port === portOf(v6) && l.addr === '::1'),
      'v6 listener on ::1',
    );
  assert.ok(view.listening.some((l) => l.proto === 'udp' && l.port === udp.address().port && l.addr === '0.0.0.0'));
});

test('fixtures: v6 addresses in little-endian word order, v4-mapped shown as v4, big-endian hosts', () => {
  const header = '  sl  local_address remote_address st tx_queue rx_queue tr tm->when retrnsmt uid timeout inode\n';
  const tcp6 =
    header +
    '   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 0 0 0 0 0 1\n' +
    '   1: 0000000000000000FFFF00000500000A:0016 B80D0120000000000000000001000000:C350 01 0 0 0 0 0 2\n' +
    '   2: garbage line\n' +
    '   3: 000080FE00000000FFFEFF0200000000:01BB 0000000000000000000000000000000:0000 0A\n';
  const entries = parseSocketTable(tcp6, 'tcp', true);
  assert.equal(entries.length, 2, 'malformed lines are skipped');
  const view = toSocketView(entries);
  assert.deepEqual(view.listening, [{ proto: 'tcp', port: 22, addr: '::' }]);
  assert.deepEqual(view.connections, [{ proto: 'tcp', addr: '2001:db8::1', port: 50000, localPort: 22 }]);
  assert.equal(entries[1]!.localAddr, '10.0.0.5');

  const be = parseSocketTable(`${header}   0: 0A000005:0050 C0000207:1F90 01 0\n`, 'tcp', false);
  assert.equal(be[0]!.localAddr, '10.0.0.5');
  assert.equal(be[0]!.remoteAddr, '192.0.2.7');
  const le = parseSocketTable(`${header}   0: 0500000A:0050 070200C0:1F90 01 0\n`, 'tcp', true);
  assert.equal(le[0]!.remoteAddr, '192.0.2.7');
});

test('RFC 5952 formatting: longest zero run compressed, first on a tie, single zero group kept', () => {
  const v6 = (s: string) => formatAddress(s.match(/../g)!.map((h) => Number.parseInt(h, 16)));
  assert.equal(v6('00000000000000000000000000000001'), '::1');
  assert.equal(v6('fe800000000000000000000000000000'), 'fe80::');
  assert.equal(v6('20010db8000000010000000000000001'), '2001:db8:0:1::1');
  assert.equal(v6('20010db8000000000001000000000001'), '2001:db8::1:0:0:1');
  assert.equal(v6('20010db8000100010001000100010001'), '2001:db8:1:1:1:1:1:1');
  assert.equal(v6('20010db800000001000100010001ffff'), '2001:db8:0:1:1:1:1:ffff');
});

test('UDP: bound unconnected is listening, connected is a connection; a missing tcp6 file is no error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fw-proc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'net'));
  const header = 'sl local rem st\n';
  writeFileSync(join(dir, 'net/tcp'), header);
  writeFileSync(
    join(dir, 'net/udp'),
    `${header}0: 00000000:0035 00000000:0000 07 0\n1: 0100000A:D431 08080808:0035 01 0\n`,
  );
  const view = await readSockets({ root: dir });
  assert.deepEqual(view.listening, [{ proto: 'udp', port: 53, addr: '0.0.0.0' }]);
  assert.deepEqual(view.connections, [{ proto: 'udp', addr: '8.8.8.8', port: 53, localPort: 54321 }]);
});
