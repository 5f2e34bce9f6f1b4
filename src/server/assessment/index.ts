export type { Analysis, AnalysisSummary, AssessmentErrorCode } from './model.ts';
export { registerAssessmentRoutes } from './routes.ts';
export { AssessmentService } from './service.ts';
