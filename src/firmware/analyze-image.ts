import { isFleetwardError } from '../protocol/errors.ts';
import { analyzeElf, isElf } from './analyze-elf.ts';
import { ComponentCollector, scanFileIdentity, scanVersionStrings } from './components/identify.ts';
import { latin1 } from './elf/byte-view.ts';
import { DEFAULT_LIMITS, type FirmwareLimits } from './limits.ts';
import type { BinaryReport, Finding, ImageReport } from './model.ts';
import { insecureSearchPaths, scoreImage } from './score.ts';
import { accountFileKind, scanAccounts } from './secrets/accounts.ts';
import { isConfigPath, scanCredentials } from './secrets/credentials.ts';
import { certificateFinding, scanPem } from './secrets/pem.ts';
import type { FirmwareFile, FirmwareSource } from './source.ts';
import { matchVulnerabilities } from './vuln/match.ts';
import type { OsvFeed } from './vuln/osv.ts';

export interface AnalyzeOptions {
  /** the clock for certificate expiry and the report timestamp (DESIGN rule 8) */
  now: Date;
  /** offline OSV feed; without it no vulnerabilities are matched */
  feed?: OsvFeed;
  limits?: FirmwareLimits;
}

function isText(bytes: Uint8Array): boolean {
  return !bytes.subarray(0, 8192).includes(0);
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

interface Acc {
  binaries: BinaryReport[];
  findings: Finding[];
  components: ComponentCollector;
}

function binaryFindings(b: BinaryReport): Finding[] {
  const out: Finding[] = [];
  if (b.hardening.nx === 'no') {
    out.push({ kind: 'executable-stack', severity: 'medium', path: b.path, message: b.hardening.nxReason, detail: {} });
  }
  const bad = insecureSearchPaths(b.hardening);
  if (bad.length > 0) {
    out.push({
      kind: 'insecure-rpath',
      severity: 'medium',
      path: b.path,
      message: 'library search path others can write to',
      detail: { entries: bad.join(':') },
    });
  }
  return out;
}

async function analyzeBinary(bytes: Uint8Array, path: string, limits: FirmwareLimits, acc: Acc): Promise<void> {
  try {
    const report = analyzeElf(bytes, path, limits);
    report.sha256 = await sha256(bytes);
    acc.binaries.push(report);
    acc.findings.push(...binaryFindings(report));
  } catch (err) {
    if (!isFleetwardError(err)) throw err;
    acc.findings.push({
      kind: 'unparsable-file',
      severity: 'low',
      path,
      message: `ELF not analysed: ${err.message}`,
      detail: { code: err.code },
    });
  }
}

/** Everything the analyzer learns from one file; a failure is a finding for that file only. */
async function analyzeFile(file: FirmwareFile, opts: AnalyzeOptions, limits: FirmwareLimits, acc: Acc): Promise<void> {
  const bytes = await file.load();
  const path = file.path;
  const text = latin1(bytes.subarray(0, limits.maxScanBytes));
  const elf = isElf(bytes);
  const textual = isText(bytes);
  if (elf) await analyzeBinary(bytes, path, limits, acc);
  if (elf || !textual) scanVersionStrings(text, path, acc.components);
  scanFileIdentity(path, textual ? text : null, acc.components);
  acc.findings.push(...scanPem(text, path, opts.now));
  const accounts = accountFileKind(path);
  if (accounts && textual) acc.findings.push(...scanAccounts(text, path, accounts));
  else if (textual && isConfigPath(path)) acc.findings.push(...scanCredentials(text, path));
  if (!textual && /\.(der|cer|crt)$/i.test(path)) {
    const f = certificateFinding(bytes, path, opts.now);
    if (f) acc.findings.push(f);
  }
}

/**
 * Analyzes every file of a source: ELF hardening and hygiene, secrets and accounts, components and
 * (with a feed) known vulnerabilities, then scores the image. Never throws for bad file content.
 */
export async function analyzeImage(source: FirmwareSource, options: AnalyzeOptions): Promise<ImageReport> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const acc: Acc = { binaries: [], findings: [...source.findings], components: new ComponentCollector() };
  for (const file of source.files) {
    try {
      await analyzeFile(file, options, limits, acc);
    } catch (err) {
      const code = isFleetwardError(err) ? err.code : 'READ_FAILED';
      acc.findings.push({
        kind: 'skipped-file',
        severity: 'low',
        path: file.path,
        message: 'file could not be read',
        detail: { code },
      });
    }
  }
  const components = acc.components.list();
  const vulnerabilities = options.feed ? matchVulnerabilities(components, options.feed) : [];
  const partial = { binaries: acc.binaries, findings: acc.findings, vulnerabilities };
  const { score, breakdown } = scoreImage(partial);
  return {
    schema: 1,
    name: source.name,
    analyzedAt: options.now.toISOString(),
    fileCount: source.files.length,
    binaries: acc.binaries,
    findings: acc.findings,
    components,
    vulnerabilities,
    score,
    scoreBreakdown: breakdown,
  };
}
