import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs; human-readable when a person watches a terminal. Token and key fields are
 * redacted wherever they appear, so a careless log call cannot leak a secret.
 */
export function createLogger(level: string, pretty = process.stdout.isTTY === true): Logger {
  const redact = {
    paths: [
      'token',
      '*.token',
      'bootstrapToken',
      '*.bootstrapToken',
      'req.headers.authorization',
      '*.privateKey',
      'secret',
    ],
    censor: '[redacted]',
  };
  if (pretty) {
    return pino({ level, redact, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino({ level, redact });
}
