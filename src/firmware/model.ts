/**
 * Report types of the firmware analyzer. Everything here is plain JSON (no Date, Map, bigint or
 * class instances) because the server stores reports and the API returns them verbatim.
 */

/** A fact that may be unknowable from the bytes alone (e.g. a stripped static binary's canary). */
export type Tri = 'yes' | 'no' | 'unknown';

export type Arch = 'x86' | 'x86-64' | 'arm' | 'aarch64' | 'mips' | 'powerpc' | 'powerpc64' | 'riscv' | 'other';

/** What the ELF file is, from e_type, PT_INTERP and DT_FLAGS_1 (gABI ch. 4 and 5). */
export type ElfKind =
  | 'pie-executable'
  | 'executable'
  | 'static-pie'
  | 'static'
  | 'shared-library'
  | 'relocatable'
  | 'core'
  | 'other';

export interface ElfIdentity {
  bits: 32 | 64;
  endian: 'little' | 'big';
  arch: Arch;
  /** e_machine number, kept for architectures we do not name */
  machine: number;
  kind: ElfKind;
  interpreter: string | null;
  soname: string | null;
  needed: string[];
}

export type Relro = 'full' | 'partial' | 'none';
/** `dso`: a shared library, position independent by construction; `rel`: an object file. */
export type Pie = 'yes' | 'no' | 'dso' | 'rel';

export interface FortifyFacts {
  /** yes: at least one __*_chk call; no: only unprotected calls; n/a: nothing fortifiable used */
  value: 'yes' | 'no' | 'n/a' | 'unknown';
  protected: string[];
  unprotected: string[];
}

export interface Hardening {
  pie: Pie;
  nx: Tri;
  /** why nx has its value (e.g. "no PT_GNU_STACK: ARM kernels then map the stack executable") */
  nxReason: string;
  relro: Relro;
  canary: Tri;
  fortify: FortifyFacts;
  rpath: string[];
  runpath: string[];
  stripped: boolean;
}

/** CITL function-hygiene classes (citl-static-analysis FunctionLists.cpp, MIT). */
export interface Hygiene {
  good: string[];
  risky: string[];
  bad: string[];
  ick: string[];
}

export interface BinaryReport {
  path: string;
  size: number;
  /** hex SHA-256 of the file, when the caller computed it (analyzeImage does) */
  sha256: string | null;
  elf: ElfIdentity;
  hardening: Hardening;
  hygiene: Hygiene;
  score: number;
  /** non-fatal parse problems (a section table past the end, a symbol limit hit, ...) */
  warnings: string[];
}

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export type FindingKind =
  | 'private-key'
  | 'certificate'
  | 'certificate-expired'
  | 'empty-password'
  | 'default-password'
  | 'weak-password-hash'
  | 'password-in-passwd'
  | 'extra-uid0'
  | 'hardcoded-credential'
  | 'insecure-rpath'
  | 'executable-stack'
  | 'unparsable-file'
  | 'archive-path-traversal'
  | 'archive-limit'
  | 'archive-corrupt'
  | 'filesystem-image'
  | 'skipped-file';

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  path: string;
  message: string;
  /** safe facts only: secrets are redacted before they land here */
  detail: Record<string, string | number | boolean | null>;
}

export type ComponentSource = 'version-string' | 'dpkg' | 'opkg' | 'file-name';

export interface Component {
  name: string;
  version: string | null;
  /** OSV ecosystem of the version string when it came from a package database ('Debian', 'OpenWrt') */
  ecosystem: string | null;
  source: ComponentSource;
  purl: string;
  paths: string[];
}

export interface VulnerabilityMatch {
  id: string;
  aliases: string[];
  summary: string;
  component: string;
  version: string;
  severity: Severity;
  /** CVSS v3 base score when the entry had a vector, else null */
  cvss: number | null;
  fixed: string | null;
}

export interface ImageReport {
  /** report format version, bumped on incompatible change */
  schema: 1;
  name: string;
  analyzedAt: string;
  fileCount: number;
  binaries: BinaryReport[];
  findings: Finding[];
  components: Component[];
  vulnerabilities: VulnerabilityMatch[];
  score: number;
  scoreBreakdown: ScoreBreakdown;
}

export interface ScoreBreakdown {
  binaryMean: number;
  secretPenalty: number;
  vulnerabilityPenalty: number;
}

export type ChangeDirection = 'better' | 'worse' | 'same';

export interface Change {
  direction: 'better' | 'worse';
  subject: string;
  what: string;
  from: string;
  to: string;
}

export interface ReportDiff {
  scoreFrom: number;
  scoreTo: number;
  direction: ChangeDirection;
  regressions: Change[];
  improvements: Change[];
  addedBinaries: string[];
  removedBinaries: string[];
}
