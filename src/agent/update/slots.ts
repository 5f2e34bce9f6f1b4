import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeFileDurable } from '../state-file.ts';
import { updateError } from './errors.ts';

/**
 * A/B slots as directories: `slots/a` and `slots/b`, each holding one image and what it is, and a
 * durable `state.json` naming the active slot and the anti-rollback floor. Switching slots is one
 * atomic rename (writeFileDurable), so a crash mid-update boots either the old or the new slot.
 */
export type SlotName = 'a' | 'b';

export interface SlotContent {
  releaseId: string;
  version: string;
  securityVersion: number;
  sha256: string;
}

export interface SlotState {
  v: 1;
  /** The slot the device runs (null: factory image, nothing installed through Fleetward yet). */
  active: SlotName | null;
  /** Anti-rollback floor: the security version of the release last committed (healthy). */
  securityVersion: number;
  slots: Partial<Record<SlotName, SlotContent>>;
  /** Set between "switched" and "health check passed": on restart the agent finishes or undoes it. */
  trial: { slot: SlotName; previous: SlotName | null; rollout: string | null; command: string | null } | null;
}

const EMPTY: SlotState = { v: 1, active: null, securityVersion: 0, slots: {}, trial: null };

export class Slots {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async load(): Promise<SlotState> {
    const s = (await readJsonFile(join(this.dir, 'state.json'))) as SlotState | null;
    return s && s.v === 1 ? s : { ...EMPTY, slots: {} };
  }

  async save(s: SlotState): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFileDurable(join(this.dir, 'state.json'), JSON.stringify(s));
    } catch (err) {
      throw updateError('UPDATE_STATE_IO', 'cannot write the slot state', { cause: err });
    }
  }

  inactive(s: SlotState): SlotName {
    return s.active === 'a' ? 'b' : 'a';
  }

  imagePath(slot: SlotName): string {
    return join(this.dir, slot, 'image');
  }

  /** A scratch path inside the slot, so moving the verified download in is a rename, not a copy. */
  stagingPath(slot: SlotName): string {
    return join(this.dir, slot, 'image.download');
  }

  async prepare(slot: SlotName): Promise<void> {
    await rm(join(this.dir, slot), { recursive: true, force: true });
    await mkdir(join(this.dir, slot), { recursive: true, mode: 0o700 });
  }

  /** Writes the verified image into the slot. Throws UPDATE_INSTALL_FAILED. */
  async install(slot: SlotName): Promise<void> {
    try {
      await rename(this.stagingPath(slot), this.imagePath(slot));
    } catch (err) {
      throw updateError('UPDATE_INSTALL_FAILED', 'cannot write the image into the slot', { cause: err });
    }
  }
}
