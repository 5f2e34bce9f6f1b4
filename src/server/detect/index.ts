export type { DeviceState } from './engine/detector.ts';
export { Detector } from './engine/detector.ts';
export type {
  Behaviour,
  BehaviourKind,
  CloudCounterSnapshot,
  CloudCounterSource,
  Datapoint,
  DetectErrorCode,
  DetectionSignal,
  DeviceFacts,
  Evidence,
  MitigationKind,
  ProfileTarget,
  SecurityProfile,
  Severity,
} from './model.ts';
export { MITIGATION_KINDS, SEVERITIES } from './model.ts';
export { profileCovers } from './profile-rules.ts';
export type { NewProfile, ProfilePatch } from './profile-service.ts';
export { ProfileService } from './profile-service.ts';
export {
  recommendedBehaviours,
  recommendedProfile,
  SCENARIO_BEHAVIOURS,
  staticOnlyBehaviours,
} from './recommended-profile.ts';
export { reportToDatapoint } from './report-metrics.ts';
export { behaviourSchema, registerDetectRoutes } from './routes.ts';
export type { DetectDeps, DetectOptions } from './service.ts';
export { DEFAULT_DETECT, DetectService } from './service.ts';
