import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sampleReport } from '../protocol/testing/sample-report.ts';
import { DiskQueue } from './disk-queue.ts';

const entry = (seq: number) => ({ seq, payload: JSON.stringify(sampleReport({ seq })) });
const tempDir = (t: { after: (fn: () => void) => void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'fw-queue-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

async function drain(q: DiskQueue): Promise<number[]> {
  const seen: number[] = [];
  for (let e = await q.peek(); e; e = await q.peek()) {
    seen.push(e.seq);
    await q.remove(e.seq);
  }
  return seen;
}

test('order is preserved across a restart, nothing is lost or doubled', async (t) => {
  const dir = tempDir(t);
  const q1 = await DiskQueue.open(dir);
  for (let s = 1; s <= 20; s++) await q1.append(entry(s));
  const first = await q1.peek();
  assert.equal(first?.seq, 1);
  await q1.remove(1); // acknowledged
  // "Crash": a new instance over the same directory, plus a torn temp file from an interrupted write.
  writeFileSync(join(dir, '0000000000000021.rep.tmp'), '{"half');
  const q2 = await DiskQueue.open(dir);
  assert.equal(q2.size, 19);
  assert.equal(q2.lastSeq, 20);
  assert.deepEqual(
    await drain(q2),
    Array.from({ length: 19 }, (_, i) => i + 2),
  );
  assert.equal(readdirSync(dir).length, 0, 'temp file cleaned, entries removed');
  const q3 = await DiskQueue.open(dir);
  assert.equal(q3.size, 0);
});

test('a corrupt entry is skipped and reported, not fatal', async (t) => {
  const dir = tempDir(t);
  const q = await DiskQueue.open(dir);
  for (let s = 1; s <= 4; s++) await q.append(entry(s));
  const files = readdirSync(dir).sort();
  // Bit flip in entry 2 (checksum mismatch), truncation of entry 3.
  const f2 = join(dir, files[1]!);
  writeFileSync(f2, readFileSync(f2, 'utf8').replace('"seq":2', '"seq":9'));
  const f3 = join(dir, files[2]!);
  writeFileSync(f3, readFileSync(f3, 'utf8').slice(0, 40));
  const q2 = await DiskQueue.open(dir);
  assert.deepEqual(await drain(q2), [1, 4]);
  assert.deepEqual(q2.takeLosses(), { dropped: 0, corrupt: 2 });
  assert.deepEqual(q2.takeLosses(), { dropped: 0, corrupt: 0 }, 'losses are reported once');
});

test('an entry with a valid checksum but an invalid report is skipped too', async (t) => {
  const dir = tempDir(t);
  const q = await DiskQueue.open(dir);
  await q.append({ seq: 1, payload: '{"v":1}' });
  await q.append(entry(2));
  assert.equal((await q.peek())?.seq, 2);
  assert.equal(q.takeLosses().corrupt, 1);
});

test('bounded: beyond maxEntries or maxBytes the oldest are dropped and counted', async (t) => {
  const q = await DiskQueue.open(tempDir(t), { maxEntries: 5 });
  for (let s = 1; s <= 8; s++) await q.append(entry(s));
  assert.equal(q.size, 5);
  assert.deepEqual(q.takeLosses(), { dropped: 3, corrupt: 0 });
  assert.deepEqual(await drain(q), [4, 5, 6, 7, 8]);

  const size = Buffer.byteLength(entry(1).payload) + 66;
  const qb = await DiskQueue.open(tempDir(t), { maxBytes: size * 3 + 10 });
  for (let s = 1; s <= 6; s++) await qb.append(entry(s));
  assert.equal(qb.size, 3);
  assert.equal(qb.takeLosses().dropped, 3);
});

test('seqs must increase: a reused seq is refused (no doubles)', async (t) => {
  const q = await DiskQueue.open(tempDir(t));
  await q.append(entry(5));
  await assert.rejects(q.append(entry(5)), { code: 'AGENT_QUEUE_IO' });
  await assert.rejects(q.append(entry(4)), { code: 'AGENT_QUEUE_IO' });
});
