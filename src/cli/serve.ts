import { parseServeConfig, serveHelp } from '../server/config.ts';
import { startServer } from '../server/main.ts';
import type { CliContext } from './cli.types.ts';
import { usage } from './verb.ts';

/** `fleetward serve`: the whole platform in one process until SIGTERM/SIGINT. */
export async function runServe(argv: string[], ctx: CliContext): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    ctx.out(serveHelp());
    return 0;
  }
  let config: ReturnType<typeof parseServeConfig>;
  try {
    config = parseServeConfig(argv, ctx.env);
  } catch (err) {
    if (err instanceof TypeError) throw usage(err.message);
    throw err;
  }
  const server = await startServer(config);
  if (server.bootstrapToken) {
    // Printed to the terminal, never to the log: the only copy of the only way in.
    ctx.err(
      [
        '',
        'No operator exists yet. Create the first admin with this one-time token (valid until used or restart):',
        `  fleetward operator bootstrap --server ${server.url} --name admin --bootstrap-token ${server.bootstrapToken}`,
        '',
      ].join('\n'),
    );
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      server.app.log.info({ signal }, 'shutting down: finishing in-flight requests');
      process.once(signal, () => process.exit(130));
      server.close().then(resolve, (err: unknown) => {
        server.app.log.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
