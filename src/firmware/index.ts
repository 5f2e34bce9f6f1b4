/**
 * Public API of the firmware analyzer: a pure library over bytes (no I/O; see ./load for that).
 * Reports are plain JSON (model.ts) so the server can store and return them unchanged.
 */

export { analyzeElf, isElf } from './analyze-elf.ts';
export type { AnalyzeOptions } from './analyze-image.ts';
export { analyzeImage } from './analyze-image.ts';
export { diffReports } from './diff.ts';
export type { FirmwareErrorCode } from './errors.ts';
export { classifyFunctions } from './hygiene.ts';
export type { FirmwareLimits } from './limits.ts';
export { DEFAULT_LIMITS } from './limits.ts';
export type * from './model.ts';
export { toCycloneDx } from './sbom.ts';
export { scoreBinary, scoreImage } from './score.ts';
export type { FirmwareFile, FirmwareSource } from './source.ts';
export { memorySource } from './source.ts';
export { matchVulnerabilities } from './vuln/match.ts';
export type { OsvEntry, OsvFeed } from './vuln/osv.ts';
export { parseOsvFeed } from './vuln/osv.ts';
export { compareDpkg, compareSemver } from './vuln/version.ts';
