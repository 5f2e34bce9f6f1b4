/**
 * Secure over-the-air updates: a TUF repository (root, targets, snapshot, timestamp and one delegated
 * targets role per product), releases with their advisories, and staged rollouts.
 * TUF: https://theupdateframework.github.io/specification/latest/ ; Uptane's director/image split is
 * not used (one repository), so the threat model is TUF's.
 */

export type UpdatesErrorCode =
  | 'TUF_NOT_INITIALIZED'
  | 'TUF_FILE_NOT_FOUND'
  | 'TUF_KEY_OFFLINE'
  | 'TUF_KEY_INVALID'
  | 'TUF_KEY_FILE_INVALID'
  | 'TUF_PASSPHRASE_WRONG'
  | 'TUF_METADATA_INVALID'
  | 'TUF_SIGNATURE_THRESHOLD'
  | 'TUF_VERSION_NOT_NEWER'
  | 'TUF_DRAFT_NOT_FOUND'
  | 'TUF_ROLE_UNKNOWN'
  | 'TUF_ROLE_NAME_RESERVED'
  | 'TUF_DELEGATION_EXISTS'
  | 'TUF_DELEGATION_MISSING'
  | 'TUF_TARGET_OUTSIDE_DELEGATION'
  | 'ARTIFACT_NOT_FOUND'
  | 'UPLOAD_TOO_LARGE'
  | 'UPLOAD_EMPTY'
  | 'RELEASE_NOT_FOUND'
  | 'RELEASE_EXISTS'
  | 'RELEASE_SECURITY_VERSION_NOT_INCREASING'
  | 'RELEASE_NOT_PUBLISHED'
  | 'RELEASE_GATE_FAILED'
  | 'ROLLOUT_NOT_FOUND'
  | 'ROLLOUT_STATE_CONFLICT'
  | 'ROLLOUT_NO_DEVICES'
  | 'ROLLOUT_INVALID';

/** The four top-level TUF roles; every product adds one delegated targets role named after it. */
export const TOP_LEVEL_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type TopLevelRole = (typeof TOP_LEVEL_ROLES)[number];

/** Role names a product id may not take: they would shadow a top-level metadata file. */
export const RESERVED_ROLE_NAMES: ReadonlySet<string> = new Set([...TOP_LEVEL_ROLES, 'targets', 'keys']);

/** How long each role's metadata stays valid, ms. Online roles are re-signed at half-life (TUF 5.4.4 freeze). */
export interface ExpiryPolicy {
  root: number;
  targets: number;
  product: number;
  snapshot: number;
  timestamp: number;
}

const DAY = 24 * 60 * 60 * 1000;
export const DEFAULT_EXPIRY: ExpiryPolicy = {
  root: 365 * DAY,
  targets: 90 * DAY,
  product: 90 * DAY,
  snapshot: 7 * DAY,
  timestamp: DAY,
};

/** A key the repository knows: the public half always, the private half only for server-held keys. */
export interface TufKeyInfo {
  keyId: string;
  /** `root`, `targets`, `snapshot`, `timestamp` or a product id (its delegated role). */
  role: string;
  /** TUF key object: {keytype, scheme, keyval: {public}}. */
  publicKey: TufPublicKey;
  /** True when the server holds the (encrypted) private key and signs by itself. */
  online: boolean;
  createdAt: number;
}

export interface TufPublicKey {
  keytype: 'ed25519';
  scheme: 'ed25519';
  keyval: { public: string };
}

/** Encrypts key material at rest with the server's master key (identity's AES-256-GCM helper). */
export interface KeySealer {
  seal(purpose: string, plaintext: Uint8Array): string;
  unseal(purpose: string, sealed: string): Buffer;
}

/** The state of one role as `fleetward tuf status` shows it. */
export interface RoleStatus {
  role: string;
  version: number;
  expires: string;
  threshold: number;
  keys: Array<{ keyId: string; online: boolean }>;
  /** An unsigned draft waits for offline signatures. */
  pendingDraft: boolean;
}

export type Severity = 'none' | 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES = ['none', 'low', 'medium', 'high', 'critical'] as const;

/** What an update fixes, shown to operators and pushed to devices with the rollout (EN 303 645 5.3-8). */
export interface Advisory {
  cves: string[];
  severity: Severity;
}

export const RELEASE_STATES = ['awaiting-signature', 'published'] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];

export interface Release {
  id: string;
  productId: string;
  version: string;
  /** Monotonic per product; the agent refuses anything below what it runs (anti-rollback). */
  securityVersion: number;
  notes: string;
  advisory: Advisory;
  /** Minimum firmware safety score (1–100) before it may roll out; null: no gate. */
  minSafetyScore: number | null;
  /** The last score the gate measured. */
  safetyScore: number | null;
  /** TUF target path: `{productId}/{productId}-{version}.fw`. */
  targetPath: string;
  sha256: string;
  length: number;
  state: ReleaseState;
  createdAt: number;
  createdBy: string;
}

export interface StoredArtifact {
  sha256: string;
  length: number;
}

export const ROLLOUT_STATUSES = ['running', 'paused', 'succeeded', 'aborted', 'cancelled'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export interface RolloutTarget {
  productId: string;
  group?: string | undefined;
  tags?: string[] | undefined;
  deviceIds?: string[] | undefined;
}

export interface Rollout {
  id: string;
  releaseId: string;
  target: RolloutTarget;
  /** Cumulative percentages, ascending, the last 100 (e.g. [1, 10, 50, 100]). */
  phases: number[];
  /** Time a phase must run, after all its devices finished, before the next starts, ms. */
  soakMs: number;
  /** Abort when failures / finished exceeds this percentage... */
  maxFailurePct: number;
  /** ...once at least this many devices finished. */
  minFinished: number;
  /** On abort, send the previous release to the devices that received this one. */
  autoRollback: boolean;
  status: RolloutStatus;
  /** Index into phases. */
  phase: number;
  phaseStartedAt: number;
  /** Set when every device of the phase finished: the soak runs from here. */
  phaseFinishedAt: number | null;
  reason: string | null;
  /** What auto-rollback sends back, fixed when the rollout starts. */
  previousReleaseId: string | null;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
}

export const DEVICE_UPDATE_STATES = [
  'pending',
  'sent',
  'downloading',
  'verifying',
  'installing',
  'rebooting',
  'succeeded',
  'failed',
  'rolled-back',
  'reverting',
  'reverted',
] as const;
export type DeviceUpdateState = (typeof DEVICE_UPDATE_STATES)[number];

/** States after which a device counts as finished for the phase and the abort criteria. */
export const FINISHED_STATES: ReadonlySet<DeviceUpdateState> = new Set(['succeeded', 'failed', 'rolled-back']);
export const FAILED_STATES: ReadonlySet<DeviceUpdateState> = new Set(['failed', 'rolled-back']);

export interface RolloutDevice {
  rolloutId: string;
  deviceId: string;
  /** Position in the stable, pseudo-random order phases cut from. */
  ordinal: number;
  phase: number;
  state: DeviceUpdateState;
  reason: string | null;
  updatedAt: number;
}

/** How many devices of one phase are in one state: a row of the per-rollout aggregate. */
export interface StateCount {
  phase: number;
  state: DeviceUpdateState;
  n: number;
}

export interface PhaseProgress {
  phase: number;
  percent: number;
  devices: number;
  finished: number;
  succeeded: number;
  failed: number;
}

export interface RolloutProgress {
  rollout: Rollout;
  release: { id: string; version: string; securityVersion: number; advisory: Advisory };
  total: number;
  counts: Record<DeviceUpdateState, number>;
  phases: PhaseProgress[];
}

/** The release gate asks the firmware analysis for a safety score (1–100) of an artifact. */
export interface ArtifactScorer {
  score(path: string, artifact: { sha256: string; length: number; name: string }): Promise<number>;
}
