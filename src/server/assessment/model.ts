import type { ImageReport } from '../../firmware/index.ts';

/** A stored analysis of one firmware artifact, identified by its SHA-256. */
export interface AnalysisSummary {
  id: string;
  sha256: string;
  name: string;
  /** bytes */
  size: number;
  /** 1–100, see README-FIRMWARE.md */
  score: number;
  /** vulnerability records the feed held when this ran: 0 means "no feed", not "no vulnerabilities" */
  feedSize: number;
  createdAt: number;
  binaries: number;
  findings: number;
  vulnerabilities: number;
}

export interface Analysis extends AnalysisSummary {
  report: ImageReport;
}

export type AssessmentErrorCode = 'ANALYSIS_NOT_FOUND' | 'FEED_INVALID' | 'ARTIFACT_TOO_LARGE' | 'ARTIFACT_EMPTY';
