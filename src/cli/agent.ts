import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { enrollDevice } from '../agent/enroll.ts';
import { ENDPOINTS_FILE } from '../agent/run-config.ts';
import { writeFileDurable } from '../agent/state-file.ts';
import { agentRebootMarkerVerb, agentRunVerb } from './agent-run.ts';
import type { CliNoun } from './cli.types.ts';
import { printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

/** The device's own id when none is given: the host name, reduced to what a device id may contain. */
function defaultDeviceId(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 128) || 'device'
  );
}

/** `fleetward agent`: the device side. `enroll` here; the agent's `run` verb joins it. */
export const agentNoun: CliNoun = {
  name: 'agent',
  summary: 'the device agent (run on the device)',
  verbs: {
    run: agentRunVerb,
    'reboot-marker': agentRebootMarkerVerb,
    enroll: defineVerb({
      summary:
        'make a key on this device, enroll it with a token, write key.pem, cert.pem, ca.pem and agent.json (broker, server) to DIR; then `agent run --dir DIR`',
      usage: '--server URL --token T --out DIR [--id ID] [--serial S] [--ca FILE] [--json]',
      options: {
        ...JSON_FLAG,
        out: { type: 'string' },
        id: { type: 'string' },
        serial: { type: 'string' },
        ca: { type: 'string' },
      },
      run: async ({ values }, ctx) => {
        const api = ctx.api();
        if (!api.credential) throw usage('--token is required: the enrollment token');
        if (!values.out) throw usage('--out DIR is required');
        const outcome = await enrollDevice({
          server: api.baseUrl,
          token: api.credential,
          deviceId: values.id ?? defaultDeviceId(),
          hardwareSerial: values.serial,
          outDir: values.out,
          caPem: values.ca ? readFileSync(values.ca, 'utf8') : undefined,
        });
        // `agent run --dir DIR` then needs nothing else: the broker and server are remembered.
        const endpoints = { broker: outcome.mqtt, server: api.baseUrl };
        await writeFileDurable(join(values.out, ENDPOINTS_FILE), JSON.stringify(endpoints));
        if (values.json) printJson(ctx.out, outcome);
        else
          ctx.out(
            `enrolled ${outcome.deviceId}: ${values.out}/{key,cert,ca}.pem; MQTT ${outcome.mqtt.host}:${outcome.mqtt.port}`,
          );
        return 0;
      },
    }),
  },
};
