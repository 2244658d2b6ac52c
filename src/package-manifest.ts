/**
 * The gateway's own package.json: its name, version, description and license, and its folder.
 * Found by walking up from this module rather than by a fixed relative path, because the module
 * runs from `src/` in some tools and from `dist/src/` once built.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageManifest {
  name: string;
  version: string;
  description: string;
  /** An SPDX expression. */
  license: string;
}

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The repository (or installed package) root: where package.json, openapi/ and dist/ are. */
export const packageRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

export const packageManifest: PackageManifest = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as PackageManifest;
