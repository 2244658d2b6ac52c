/**
 * CAV: our documented stand-in for the product's proprietary "audio plus metadata" archive. The
 * product's own format is undocumented, so the gateway writes an ordinary ZIP that any tool opens:
 *
 *   recording.xml   the recording's metadata as XML (built by the caller)
 *   audio.<ext>     the recording in the requested inner format (`wav` unless the source says)
 *
 * With a password the entries are AES-256 encrypted (WinZip AES, opened by 7-Zip, WinZip,
 * The Unarchiver, bsdtar/libarchive; not by Info-ZIP `unzip` 6.00 nor Windows Explorer).
 * Entry names and sizes stay readable, as in every encrypted ZIP; only the contents are secret.
 */
import type { Archiver } from 'archiver';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import { storedZipArchive, streamZipEntries, type ZipEntrySource } from './zip-export.js';

/** The layout of a CAV, for the README and for readers of our archives. */
export const cavLayout = {
  metadataEntry: 'recording.xml',
  audioEntry: 'audio.<ext>',
  defaultAudioExtension: 'wav',
  encryption: 'AES-256 (WinZip AES), only when a password is given',
} as const;

export const cavFileExtension = '.cav';

/**
 * A CAV is a ZIP, and we say so: labelling a format by what it is (RFC 6838) lets clients,
 * proxies and scanners handle it, and nothing opaque is gained by `application/octet-stream`
 * since the bytes start with `PK` anyway. The `.cav` name comes from Content-Disposition.
 */
export const cavMime = 'application/zip';

export interface CavOptions {
  /** The audio. Its name only contributes the extension (`7005.mp3` -> `audio.mp3`). */
  audio: ZipEntrySource;
  /** The recording's metadata, already serialised as XML. */
  metadataXml: string;
  /** Encrypt the entries with AES-256 under this password. Never logged nor put in errors. */
  password?: string;
  signal?: AbortSignal;
}

/** A CAV archive of one recording, streamed; entries are stored, not deflated. */
export function cavStream(options: CavOptions): Readable {
  const { audio, metadataXml, password, signal } = options;
  const date = audio.date ?? new Date();
  const metadata = Buffer.from(metadataXml, 'utf8');
  // Metadata first: it is small, and a reader going through the ZIP front to back (a streaming
  // unzip) has it before the long audio entry.
  const entries: ZipEntrySource[] = [
    {
      name: cavLayout.metadataEntry,
      date,
      size: metadata.length,
      open: () => Readable.from([metadata]),
    },
    { ...audio, name: cavAudioEntryName(audio.name), date },
  ];
  const createArchive = password === undefined || password === '' ? storedZipArchive : () => encryptedZipArchive(password);
  return streamZipEntries(createArchive, entries, { signal });
}

/** `audio.<ext>`, the extension taken from the source's name; `audio.wav` when it has none. */
export function cavAudioEntryName(sourceName: string): string {
  const extension = path.extname(sourceName).slice(1).toLowerCase();
  // Only a plain extension: the entry name must stay `audio.<something>` whatever the caller sent.
  const usable = /^[a-z0-9]{1,10}$/.test(extension) ? extension : cavLayout.defaultAudioExtension;
  return `audio.${usable}`;
}

/** The part of archiver's module API (`archiver` 7, CommonJS) that registering a format needs. */
interface ArchiverVending {
  create(format: string, options: Record<string, unknown>): Archiver;
  registerFormat(format: string, module: unknown): void;
  isRegisteredFormat(format: string): boolean;
}

const encryptedFormat = 'zip-encrypted';
let archiverForEncryption: ArchiverVending | undefined;

/**
 * archiver-zip-encrypted is a format plugin for archiver 7's `registerFormat` / `create`, which
 * archiver 8 (what the rest of the gateway uses) no longer has. So the plugin runs with the
 * archiver it declares and was tested with, resolved from the plugin's own location; its API
 * (append, finalize, abort, events) is the one `streamZipEntries` drives. Registering twice
 * throws, and the registry is per process, hence the guard (another module may register it too).
 */
function encryptedZipArchive(password: string): Archiver {
  if (archiverForEncryption === undefined) {
    const require = createRequire(import.meta.url);
    const pluginPath = require.resolve('archiver-zip-encrypted');
    const plugin: unknown = require(pluginPath);
    const vending = createRequire(pluginPath)('archiver') as ArchiverVending;
    if (!vending.isRegisteredFormat(encryptedFormat)) vending.registerFormat(encryptedFormat, plugin);
    archiverForEncryption = vending;
  }
  // `store`: audio does not shrink, and the plugin then skips deflate before encrypting.
  return archiverForEncryption.create(encryptedFormat, {
    store: true,
    encryptionMethod: 'aes256',
    password,
  });
}
