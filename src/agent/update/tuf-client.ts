import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import modelErrors from '@tufjs/models/dist/error.js';
import { Updater } from 'tuf-js';
import tufErrors from 'tuf-js/dist/error.js';
import { FleetwardError } from '../../protocol/errors.ts';
import { type UpdateErrorCode, updateError } from './errors.ts';
import { DEFAULT_FETCH_LIMITS, type FetchLimits, ResumableFetcher } from './resumable-fetcher.ts';

/** Bounds on what the repository may send (TUF 5.2: "an upper bound on the size of each file"). */
export const METADATA_LIMITS = {
  /** bytes */
  rootMaxLength: 512 * 1024,
  timestampMaxLength: 16 * 1024,
  snapshotMaxLength: 2 * 1024 * 1024,
  targetsMaxLength: 8 * 1024 * 1024,
  /** Root versions walked in one refresh. */
  maxRootRotations: 32,
  /** Delegated roles visited looking for one target. */
  maxDelegations: 32,
} as const;

export interface TufClientOptions {
  /** Base URL of the metadata, e.g. https://server/device/v1/tuf/ */
  metadataUrl: string;
  /** Base URL of the artifacts; defaults to `<metadataUrl>targets/`. */
  targetsUrl?: string | undefined;
  /** The agent's TUF state: trusted metadata and partial downloads. */
  stateDir: string;
  fetch?: FetchLimits | undefined;
  onProgress?: ((received: number, total: number) => void) | undefined;
  /** Checks on the signed target facts before the artifact is downloaded; throw to refuse. */
  beforeDownload?: ((target: { path: string; length: number; custom: Record<string, unknown> }) => unknown) | undefined;
}

/** What the signed metadata says about the target: the only facts the agent acts on. */
export interface VerifiedTarget {
  path: string;
  length: number;
  sha256: string;
  /** `custom` of the target (securityVersion, version, release) — signed by the product's key. */
  custom: Record<string, unknown>;
  /** Where the verified artifact now is. */
  file: string;
}

const metadataDir = (stateDir: string) => join(stateDir, 'tuf');

/** True when a trusted root is pinned in `stateDir`. */
/**
 * The update state directory inside an agent directory (trusted TUF metadata, downloads, A/B slots):
 * one definition, so enrollment pins the root exactly where `agent run` and the simulator look.
 */
export function updateStateDir(agentDir: string): string {
  return join(agentDir, 'update');
}

export function hasTrustedRoot(stateDir: string): boolean {
  return existsSync(join(metadataDir(stateDir), 'root.json'));
}

/** Pins the trusted root (at enrollment, or first contact): every later root must chain from it. */
export async function pinTrustedRoot(stateDir: string, rootJson: Uint8Array | string): Promise<void> {
  await mkdir(metadataDir(stateDir), { recursive: true, mode: 0o700 });
  await writeFile(join(metadataDir(stateDir), 'root.json'), rootJson, { mode: 0o600 });
}

/**
 * The TUF client workflow (spec §5) with tuf-js — the client npm relies on: refresh root, timestamp,
 * snapshot and targets, find the target through the delegations, download it bounded by its signed
 * length and check its hashes. Only then is a file handed back. Throws UPDATE_* codes (errors.ts).
 */
export async function fetchVerifiedTarget(
  opts: TufClientOptions,
  targetPath: string,
  dest: string,
): Promise<VerifiedTarget> {
  if (!hasTrustedRoot(opts.stateDir)) throw updateError('UPDATE_TRUST_ROOT_MISSING', 'no trusted TUF root is pinned');
  const base = opts.metadataUrl.endsWith('/') ? opts.metadataUrl : `${opts.metadataUrl}/`;
  const fetcher = new ResumableFetcher(
    join(opts.stateDir, 'downloads'),
    opts.fetch ?? DEFAULT_FETCH_LIMITS,
    opts.onProgress,
  );
  try {
    const updater = new Updater({
      metadataDir: metadataDir(opts.stateDir),
      metadataBaseUrl: base,
      targetBaseUrl: opts.targetsUrl ?? `${base}targets/`,
      fetcher,
      config: { ...METADATA_LIMITS },
    });
    await updater.refresh();
    const info = await updater.getTargetInfo(targetPath);
    if (!info)
      throw updateError('UPDATE_TARGET_UNKNOWN', 'no signed metadata lists this target', { details: { targetPath } });
    opts.beforeDownload?.({ path: info.path, length: info.length, custom: info.custom });
    await updater.downloadTarget(info, dest);
    const sha256 = info.hashes.sha256;
    if (!sha256) throw updateError('UPDATE_METADATA_REJECTED', 'the target has no sha256 hash');
    return { path: info.path, length: info.length, sha256, custom: info.custom, file: dest };
  } catch (err) {
    throw toUpdateError(err);
  }
}

/** Maps tuf-js's errors to our codes at the module edge (DESIGN.md §2): by class, never by message. */
export function toUpdateError(err: unknown): FleetwardError<UpdateErrorCode> {
  if (err instanceof FleetwardError) return err as FleetwardError<UpdateErrorCode>;
  const code = codeFor(err);
  return updateError(code, MESSAGES[code] ?? 'the update was refused', { cause: err });
}

function codeFor(err: unknown): UpdateErrorCode {
  if (err instanceof tufErrors.ExpiredMetadataError) return 'UPDATE_METADATA_EXPIRED';
  if (err instanceof tufErrors.BadVersionError) return 'UPDATE_METADATA_ROLLBACK';
  if (err instanceof modelErrors.UnsignedMetadataError) return 'UPDATE_METADATA_UNSIGNED';
  if (err instanceof modelErrors.LengthOrHashMismatchError) return 'UPDATE_ARTIFACT_MISMATCH';
  if (err instanceof tufErrors.DownloadLengthMismatchError) return 'UPDATE_ARTIFACT_TOO_LONG';
  if (err instanceof tufErrors.DownloadHTTPError) return 'UPDATE_DOWNLOAD_FAILED';
  if (err instanceof TypeError && (err as { cause?: unknown }).cause !== undefined) return 'UPDATE_DOWNLOAD_FAILED';
  return 'UPDATE_METADATA_REJECTED';
}

const MESSAGES: Partial<Record<UpdateErrorCode, string>> = {
  UPDATE_METADATA_EXPIRED: 'TUF metadata has expired (freeze attack?)',
  UPDATE_METADATA_ROLLBACK: 'TUF metadata is older than the trusted version (rollback attack?)',
  UPDATE_METADATA_UNSIGNED: 'TUF metadata lacks a threshold of valid signatures',
  UPDATE_METADATA_REJECTED: 'TUF metadata was refused',
  UPDATE_ARTIFACT_MISMATCH: 'the artifact does not match its signed hash or length',
  UPDATE_ARTIFACT_TOO_LONG: 'the artifact is longer than its signed length',
  UPDATE_DOWNLOAD_FAILED: 'download failed',
};
