import { FleetwardError } from '../protocol/errors.ts';

/** The agent's error codes. The CLI maps them to exit codes; none ever stops the report loop. */
export type AgentErrorCode =
  | 'AGENT_CONFIG_INVALID'
  | 'AGENT_IDENTITY_MISSING'
  | 'AGENT_PROC_UNREADABLE'
  | 'AGENT_QUEUE_IO'
  | 'AGENT_CONNECT_FAILED'
  | 'AGENT_PUBLISH_FAILED'
  | 'AGENT_ENROLL_FAILED';

export function agentError(
  code: AgentErrorCode,
  message: string,
  options?: { cause?: unknown; details?: Record<string, unknown> },
): FleetwardError<AgentErrorCode> {
  return new FleetwardError<AgentErrorCode>(code, message, options);
}
