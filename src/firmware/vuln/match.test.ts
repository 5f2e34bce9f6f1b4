import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isFleetwardError } from '../../protocol/errors.ts';
import { purlOf } from '../components/identify.ts';
import type { Component } from '../model.ts';
import { cvss3BaseScore } from './cvss.ts';
import { evaluateRange, matchVulnerabilities } from './match.ts';
import { parseOsvFeed } from './osv.ts';
import { compareDpkg, compareSegments, compareSemver } from './version.ts';

const dir = new URL('../testdata/osv/', import.meta.url);
const feed = parseOsvFeed(
  readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .map((name) => ({ name, text: readFileSync(new URL(name, dir), 'utf8') })),
);

function comp(name: string, version: string, source: Component['source'] = 'version-string'): Component {
  const ecosystem = source === 'dpkg' ? 'Debian' : source === 'opkg' ? 'OpenWrt' : null;
  return { name, version, ecosystem, source, purl: purlOf(name, version, source), paths: ['x'] };
}

describe('version ordering', () => {
  test('dpkg order: epochs, revisions, tilde', () => {
    assert.equal(compareDpkg('1.1.1n-0+deb11u1', '1.1.1n-0'), 1);
    assert.equal(compareDpkg('1:1.0', '2.0'), 1);
    assert.equal(compareDpkg('1.0~rc1', '1.0'), -1);
    assert.equal(compareDpkg('1.1.1k-1', '1.1.1n-0+deb11u1'), -1);
    assert.equal(compareDpkg('2.0', '2.0'), 0);
  });
  test('upstream order: letters and numbers', () => {
    assert.equal(compareSegments('1.1.1k', '1.1.1n'), -1);
    assert.equal(compareSegments('1.0.2zd', '1.0.2y'), 1);
    assert.equal(compareSegments('1.9', '1.10'), -1);
  });
  test('SemVer precedence', () => {
    assert.equal(compareSemver('1.0.0-alpha', '1.0.0'), -1);
    assert.equal(compareSemver('1.0.0-alpha.1', '1.0.0-alpha.beta'), -1);
    assert.equal(compareSemver('8.4.0', '7.69.0'), 1);
    assert.equal(compareSemver('v2.0.0', '2.0.0'), 0);
  });
});

describe('OSV evaluation', () => {
  const range = {
    type: 'ECOSYSTEM',
    events: [{ fixed: '1.1.1n' }, { introduced: '1.1.1' }, { introduced: '3.0.0' }, { fixed: '3.0.2' }],
  };
  test('ranges with several introduced/fixed pairs, in any order', () => {
    assert.equal(evaluateRange(range, 'Generic', '1.1.1k'), '1.1.1n');
    assert.equal(evaluateRange(range, 'Generic', '1.1.1n'), null);
    assert.equal(evaluateRange(range, 'Generic', '1.1.0'), null);
    assert.equal(evaluateRange(range, 'Generic', '3.0.1'), '3.0.2');
    assert.equal(evaluateRange(range, 'Generic', '3.0.2'), null);
  });
  test('last_affected is inclusive', () => {
    const r = { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '2022.83' }] };
    assert.equal(evaluateRange(r, 'Generic', '2022.83'), '');
    assert.equal(evaluateRange(r, 'Generic', '2024.84'), null);
  });
  test('GIT ranges are not evaluated', () => {
    assert.equal(evaluateRange({ type: 'GIT', events: [{ introduced: '0' }] }, 'Generic', '1.0'), null);
  });
  test('matches the test feed by name, ecosystem and range', () => {
    const hits = matchVulnerabilities(
      [
        comp('busybox', '1.31.1'),
        comp('BusyBox', '1.36.1'),
        comp('openssl', '1.1.1k'),
        comp('openssl', '1.1.1n-0+deb11u1', 'dpkg'),
        comp('openssl', '1.1.1k-1', 'dpkg'),
        comp('dropbear', '2020.81'),
        comp('curl', '8.1.2'),
      ],
      feed,
    );
    const ids = hits.map((h) => `${h.id} ${h.component}@${h.version}`).sort();
    assert.deepEqual(ids, [
      'FWTEST-2022-0778 openssl@1.1.1k',
      'FWTEST-2022-48174 busybox@1.31.1',
      'FWTEST-2023-38545 curl@8.1.2',
      'FWTEST-2023-48795 dropbear@2020.81',
      'FWTEST-DSA-5103-1 openssl@1.1.1k-1',
    ]);
    const curl = hits.find((h) => h.component === 'curl')!;
    assert.deepEqual([curl.cvss, curl.severity, curl.fixed], [9.8, 'critical', '8.4.0']);
    const dsa = hits.find((h) => h.id === 'FWTEST-DSA-5103-1')!;
    assert.equal(dsa.severity, 'high', 'database_specific severity when there is no vector');
  });
});

describe('parseOsvFeed and CVSS', () => {
  test('invalid records are OSV_INVALID', () => {
    for (const text of [
      'not json',
      '{"id":1}',
      '{"id":"X","affected":[{"package":{}}]}',
      '{"id":"X","affected":[{"package":{"ecosystem":"a","name":"b"},"ranges":[{"type":"SEMVER","events":[{}]}]}]}',
    ]) {
      assert.throws(
        () => parseOsvFeed([{ name: 'f.json', text }]),
        (e) => isFleetwardError(e, 'OSV_INVALID'),
      );
    }
  });
  test('CVSS 3.1 base scores', () => {
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), 9.8);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H'), 7.5);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N'), 5.9);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N'), 6.4);
    assert.equal(cvss3BaseScore('CVSS:2.0/AV:N'), null);
  });
});
