/**
 * What every command handler of the simulator works with: the store, the clock, the recording
 * cores, the event bus and the data dir layout; and how a handler reports an outcome.
 */
import type { CommandSpec } from '../protocol/catalog.js';
import { ResultCode } from '../protocol/result-codes.js';
import { element, serialize, type XmlElement } from '../protocol/xml.js';
import type { Db } from './store.js';
import type { EventBus } from './event-bus.js';
import type { RecordingMirror } from './recording-mirror.js';

export interface CoreRequest {
  spec: CommandSpec;
  /** REQUESTID as sent (trimmed). */
  requestId: string;
  /** Canonical parameter names (upper case, aliases resolved) to trimmed values. */
  params: ReadonlyMap<string, string>;
}

export interface CommandOutcome {
  code: number;
  message: string;
  body?: XmlElement[];
  /** Body elements already serialized (renderBody), written after `body`: an answer kept ready is not built again. */
  renderedBody?: string;
  /**
   * Elements the production core leaves unclosed in this answer (IMPORTUSER LIST's `<USERS>`),
   * reproduced only when the simulator runs with its field quirks on.
   */
  unclosedInField?: string[];
}

/**
 * Body elements as the RESULT carries them, in serialize's layout (one level in): what a handler
 * that keeps its answers returns as `renderedBody`. The RESULT written around them is cut off.
 */
export function renderBody(body: readonly XmlElement[]): string {
  if (body.length === 0) return '';
  const xml = serialize(element('RESULT', body));
  return xml.slice(xml.indexOf('\n') + 1, xml.lastIndexOf('</RESULT>'));
}

/** A documented error result, thrown from anywhere inside a handler. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const ok = (message = 'API_OK', body?: XmlElement[]): CommandOutcome => ({
  code: ResultCode.API_OK,
  message,
  ...(body ? { body } : {}),
});

/** The simulator's clock: wall time plus an offset tests may advance. */
export class Clock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  get offset(): number {
    return this.offsetMs;
  }
}

/**
 * The recording cores the API Server forwards call and recording commands to. Each can be taken
 * down so that commands answer API_PARTIAL_CORE_RESPONSE or API_ERROR_RECORDER_NOT_RUNNING.
 */
export class CoreRoster {
  private readonly down = new Set<number>();
  constructor(readonly idents: readonly number[]) {
    if (idents.length === 0) throw new Error('at least one recording core is needed');
  }
  setUp(ident: number, up: boolean): void {
    if (!this.idents.includes(ident)) throw new Error(`no core ${ident}`);
    if (up) this.down.delete(ident);
    else this.down.add(ident);
  }
  isUp(ident: number): boolean {
    return !this.down.has(ident);
  }
  get upIdents(): number[] {
    return this.idents.filter((i) => !this.down.has(i));
  }
  get downIdents(): number[] {
    return this.idents.filter((i) => this.down.has(i));
  }
}

export interface SimOptions {
  /** Where recordings, the outbox and the database live. */
  dataDir: string;
  /** Recording channels seeded into a fresh store. */
  channelCount: number;
  /** Longest recording written, in seconds, whatever MAXRECORDTIME says. */
  maxRecordSeconds: number;
  /** Base of CALLLIST's PLAYBACKLINK. */
  playbackBaseUrl: string;
  /** ffmpeg for MP3 and M4A email attachments ('' when none). */
  ffmpegPath: string;
  /** Reproduce the production output that never closes `<USERS>` in IMPORTUSER LIST. */
  fieldQuirks: boolean;
  /**
   * Serve our extensions (RECORDINGINFO) too; off, the core answers exactly the product's command
   * set and an extension is API_UNKNOWN_MESSAGE_TYPE like any unknown type.
   */
  extensions: boolean;
}

export interface SimContext {
  db: Db;
  clock: Clock;
  cores: CoreRoster;
  events: EventBus;
  options: SimOptions;
  recordingsDir: string;
  outboxDir: string;
  /** The product's Recording table in an external database (`--recordings-db`), when there is one. */
  recordingMirror?: RecordingMirror;
}
