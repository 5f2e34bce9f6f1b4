import type { DeviceChannel } from '../../protocol/topics.ts';
import type { DeviceGateway, DeviceMessageHandler } from '../gateway/gateway.types.ts';
import type { TransportCounters } from './counters.ts';
import type { TransportDeps } from './transport.ts';

/** Placeholder until external mode lands (step 6). */
export class ExternalBroker implements DeviceGateway {
  static async start(
    _deps: TransportDeps & { counters: TransportCounters; serverCert: unknown; config: unknown },
  ): Promise<ExternalBroker> {
    throw new Error('external broker mode is not implemented yet');
  }
  get endpoint(): { host: string; port: number } {
    return { host: '', port: 0 };
  }
  onDeviceMessage(_channel: DeviceChannel, _handler: DeviceMessageHandler): void {}
  async sendCommand(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async close(): Promise<void> {}
}
