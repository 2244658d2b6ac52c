/**
 * The recording catalog a gateway runs with, from its configuration: each named source that is
 * configured, in the order named. The database source loads its driver only when a database is
 * configured, the event index SQLite only when it is named: a gateway carries what it uses.
 */
import path from 'node:path';
import type { RecordingFiles } from '../media/recording-files.js';
import { CallList, type AskCore } from './call-list.js';
import type { EventIndex } from './event-index.js';
import type { RecorderClock } from './recorder-clock.js';
import { RecordingCatalog, type LookupObserver } from './recording-catalog.js';
import { RecordingInfoSource } from './recording-info-source.js';
import type { RecordingSource, RecordingSourceName } from './recording.js';
import { ShareSource } from './share-source.js';

export interface CatalogSetup {
  sources: readonly RecordingSourceName[];
  ask: AskCore;
  files: RecordingFiles;
  clock: RecorderClock;
  /** The gateway's data dir, where the event index lives. */
  dataDir: string;
  indexKeepDays: number;
  scanLimit: number;
  database?: { url: string; table: string; poolSize: number; timeoutMs: number };
  observe?: LookupObserver;
}

export interface ConfiguredCatalog {
  catalog: RecordingCatalog;
  /** To be fed the event port's events, when the index is one of the sources. */
  index: EventIndex | undefined;
}

/** CALLCOUNT of a page when the share source reads CALLLIST for an IDENT list: about 0.5 MB of answer. */
const scanPageSize = 500;

export const indexFileName = 'recording-index.sqlite';

export async function openRecordingCatalog(setup: CatalogSetup): Promise<ConfiguredCatalog> {
  const callList = new CallList(setup.ask);
  const sources: RecordingSource[] = [];
  let index: EventIndex | undefined;
  try {
    for (const name of setup.sources) {
      switch (name) {
        case 'database':
          if (setup.database) {
            const { openDatabaseSource } = await import('./database-source.js');
            sources.push(await openDatabaseSource({ ...setup.database, clock: setup.clock }));
          }
          break;
        case 'recordinginfo':
          sources.push(new RecordingInfoSource(setup.ask));
          break;
        case 'index': {
          const { EventIndex } = await import('./event-index.js');
          index = new EventIndex({ file: path.join(setup.dataDir, indexFileName), callList, keepDays: setup.indexKeepDays });
          sources.push(index);
          break;
        }
        case 'share':
          if (setup.files.mapped) sources.push(new ShareSource({ files: setup.files, callList, clock: setup.clock, scanLimit: setup.scanLimit, pageSize: scanPageSize }));
          break;
      }
    }
  } catch (error) {
    await Promise.all(sources.map((s) => s.close()));
    throw error;
  }
  return { catalog: new RecordingCatalog(sources, setup.observe), index };
}
