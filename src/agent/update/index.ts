export { commandHealthCheck, type UpdateOutcome, updateAction } from './actions.ts';
export type { UpdateErrorCode } from './errors.ts';
export { DEFAULT_FETCH_LIMITS, type FetchLimits } from './resumable-fetcher.ts';
export type { SlotContent, SlotName, SlotState } from './slots.ts';
export {
  fetchVerifiedTarget,
  hasTrustedRoot,
  pinTrustedRoot,
  toUpdateError,
  updateStateDir,
  type VerifiedTarget,
} from './tuf-client.ts';
export { type UpdateCommand, Updater, type UpdaterOptions } from './updater.ts';
