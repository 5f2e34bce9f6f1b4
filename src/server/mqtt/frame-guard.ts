import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

/**
 * Reads MQTT fixed headers as bytes arrive and ends the connection as soon as a packet declares a
 * remaining length above the limit — before any of it is buffered. (MQTT 3.1.1 §2.2.3: the remaining
 * length is a 1–4 byte varint; a 5th continuation byte is malformed.) aedes parses only whole packets,
 * so without this a client could make it buffer up to 256 MB per connection.
 */
export class FrameScanner {
  readonly #max: number;
  #need = 0; // body bytes still to skip
  #inHeader = false; // type byte seen, varint in progress
  #length = 0;
  #shift = 0;
  #varintBytes = 0;

  constructor(maxPacketBytes: number) {
    this.#max = maxPacketBytes;
  }

  /** Feeds bytes; returns null while fine, or why the stream must end. */
  feed(chunk: Uint8Array): 'packet-too-large' | 'malformed-length' | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.#need > 0) {
        const skip = Math.min(this.#need, chunk.length - i);
        this.#need -= skip;
        i += skip;
        continue;
      }
      const byte = chunk[i++]!;
      if (!this.#inHeader) {
        this.#inHeader = true;
        this.#length = 0;
        this.#shift = 0;
        this.#varintBytes = 0;
        continue;
      }
      this.#length += (byte & 0x7f) * 2 ** this.#shift;
      this.#shift += 7;
      this.#varintBytes++;
      if (this.#length > this.#max) return 'packet-too-large';
      if (byte & 0x80) {
        if (this.#varintBytes >= 4) return 'malformed-length';
        continue;
      }
      this.#inHeader = false;
      this.#need = this.#length;
    }
    return null;
  }
}

/**
 * The TLS socket as aedes sees it, with the frame limit in between. Writes go straight through; reads
 * pass the scanner first. `onViolation` runs once, before the socket is destroyed.
 */
export class GuardedSocket extends Duplex {
  readonly socket: TLSSocket;

  constructor(socket: TLSSocket, maxPacketBytes: number, onViolation: (reason: string) => void) {
    super({ allowHalfOpen: false });
    this.socket = socket;
    const scanner = new FrameScanner(maxPacketBytes);
    socket.on('data', (chunk: Buffer) => {
      const problem = scanner.feed(chunk);
      if (problem) {
        onViolation(problem);
        socket.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (err) => this.destroy(err));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.socket.destroyed) {
      cb();
      return;
    }
    this.socket.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}
