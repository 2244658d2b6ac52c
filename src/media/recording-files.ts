/**
 * Where a recording's audio is on this machine. The core names files as the product stores them
 * (`C:\Recordings\20261014\7005\7005-13-35-07.wav`); a path map says which directory each of those
 * Windows roots is mounted at here. A name that does not start with a mapped root, or that would
 * leave its root (`..`, a symlink pointing elsewhere), is refused: nothing the core says can make
 * the gateway read outside the configured directories.
 */
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface PathMapEntry {
  /** The product's root, e.g. `C:\Recordings\` (compared case-insensitively, either slash). */
  productRoot: string;
  /** The directory it is mounted at here. */
  directory: string;
}

export class PathMapError extends Error {
  override name = 'PathMapError';
}

/**
 * `C:\Recordings\=/data/recordings;D:\Archive\=/mnt/archive`: entries separated by `;`, each a
 * product root and a local directory separated by the first `=`.
 */
export function parsePathMap(text: string): PathMapEntry[] {
  const entries: PathMapEntry[] = [];
  for (const part of text.split(';')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    if (at <= 0 || at === part.length - 1) throw new PathMapError(`path map entry "${part}" is not ROOT=DIRECTORY`);
    entries.push({ productRoot: part.slice(0, at).trim(), directory: path.resolve(part.slice(at + 1).trim()) });
  }
  return entries;
}

/** The product's separators and case do not matter: `c:/recordings` is `C:\Recordings\`. */
function productSegments(name: string): string[] {
  return name.split(/[\\/]+/).filter((s) => s !== '');
}

/**
 * How long a root's resolved path is used before it is resolved again: an export resolves its
 * file's path every time, its root's (which changes only when an operator re-points a mount) at
 * most this often, which spares every export one realpath.
 */
const rootRealPathMs = 10_000;

export class RecordingFiles {
  private readonly roots: { productRoot: string; segments: string[]; directory: string }[];
  private readonly rootRealPaths = new Map<string, { at: number; path: Promise<string> }>();

  constructor(map: readonly PathMapEntry[]) {
    // The longest root first, so that a nested mapping wins over its parent.
    this.roots = map
      .map((e) => ({ productRoot: e.productRoot, segments: productSegments(e.productRoot).map((s) => s.toLowerCase()), directory: e.directory }))
      .sort((a, b) => b.segments.length - a.segments.length);
  }

  get mapped(): boolean {
    return this.roots.length > 0;
  }

  /** The product roots mapped here (`C:\Recordings\`), as configured, in the order they are tried. */
  get productRoots(): string[] {
    return this.roots.map((r) => r.productRoot);
  }

  /**
   * The local path of a product name, symlinks resolved, after checking that it lies inside its
   * mapped root. Throws PathMapError saying why not.
   */
  private async resolveInside(productName: string, what: string): Promise<string> {
    const segments = productSegments(productName);
    const root = this.roots.find((r) => r.segments.every((s, i) => segments[i]?.toLowerCase() === s));
    if (!root) throw new PathMapError(`${productName} is not under a mapped recordings root`);
    const rest = segments.slice(root.segments.length);
    if (rest.length === 0 || rest.some((s) => s === '..' || s === '.' || s.includes('\0'))) {
      throw new PathMapError(`${productName} does not name a ${what} inside its recordings root`);
    }
    const candidate = path.join(root.directory, ...rest);
    let real: string;
    let realRoot: string;
    try {
      [real, realRoot] = await Promise.all([fs.realpath(candidate), this.realRoot(root.directory)]);
    } catch {
      throw new PathMapError(`${productName} is not on disk`);
    }
    if (!real.startsWith(realRoot + path.sep)) throw new PathMapError(`${productName} leads outside its recordings root`);
    return real;
  }

  private realRoot(directory: string): Promise<string> {
    const now = Date.now();
    const known = this.rootRealPaths.get(directory);
    if (known && now - known.at < rootRealPathMs) return known.path;
    const path = fs.realpath(directory);
    this.rootRealPaths.set(directory, { at: now, path });
    path.catch(() => this.rootRealPaths.delete(directory));
    return path;
  }

  /**
   * The local file of a product file name, after checking that it exists, is a regular file and,
   * symlinks resolved, lies inside its root. Throws PathMapError saying why not.
   */
  async locate(productName: string): Promise<string> {
    return (await this.locateFile(productName)).path;
  }

  /** As `locate`, with the file's stat (its size and mtime say which version of it this is). */
  async locateFile(productName: string): Promise<{ path: string; stat: Stats }> {
    const real = await this.resolveInside(productName, 'file');
    const stat = await fs.stat(real);
    if (!stat.isFile()) throw new PathMapError(`${productName} is not a file`);
    return { path: real, stat };
  }

  /**
   * The names in a product folder (`C:\Recordings\20110131`) under a mapped root: what the share's
   * naming convention is matched against. Empty when the folder is not there; PathMapError when it
   * is not under a mapped root or leads outside it.
   */
  async list(productFolder: string): Promise<string[]> {
    let real: string;
    try {
      real = await this.resolveInside(productFolder, 'folder');
    } catch (error) {
      if (error instanceof PathMapError && error.message.endsWith('is not on disk')) return [];
      throw error;
    }
    try {
      return await fs.readdir(real);
    } catch {
      return [];
    }
  }
}
