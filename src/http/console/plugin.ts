/**
 * The console page at `/`: a small page of the gateway's own (web/), built by `npm install`, that
 * shows the core and pool status, the live events and the recordings, and plays them. It is an
 * integrator's page like any other: it reads only the public REST API, with the caller's key.
 *
 * The page's files are few and small, so they are read once at startup and served from memory,
 * each under a fixed name: nothing the request names ever reaches the file system. The page
 * carries no data, so its routes are open like /docs (the API calls it makes are not). Its
 * Content-Security-Policy lets it load and call nothing but this origin, and no inline script or
 * style: what it shows of the API's answers is text, and a bug there cannot become a script.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { packageRoot } from '../../package-manifest.js';
import { ResultCode } from '../../protocol/result-codes.js';
import { sendProblem } from '../rest/problem.js';

export const consolePath = '/';
/** Where the page's scripts, style and icon are served. */
export const consoleAssetsPath = '/console/';

/** The policy of the page and of every file it loads. */
export const consoleContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "media-src 'self'",
  "img-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

interface ConsoleAsset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The page's source folder (HTML, style, icon) and where `npm run build` compiles its scripts. */
export interface ConsoleOptions {
  sourceDir?: string;
  scriptsDir?: string;
}

const defaultSourceDir = path.join(packageRoot, 'web');
const defaultScriptsDir = path.join(packageRoot, 'dist', 'web');

const typesByExtension: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Script modules of the page as tsc names them: lower-case words, no folders. */
const scriptName = /^[a-z][a-z-]*\.js$/;

function asset(file: string): ConsoleAsset {
  const body = fs.readFileSync(file);
  const type = typesByExtension[path.extname(file)];
  if (!type) throw new Error(`no type for ${file}`);
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** The files of the page by the path they are served at; what is missing is named, not thrown. */
function loadAssets(sourceDir: string, scriptsDir: string): { assets: Map<string, ConsoleAsset>; missing: string[] } {
  const assets = new Map<string, ConsoleAsset>();
  const missing: string[] = [];
  const add = (urlPath: string, file: string): void => {
    if (fs.existsSync(file)) assets.set(urlPath, asset(file));
    else missing.push(file);
  };
  add(consolePath, path.join(sourceDir, 'index.html'));
  add(`${consoleAssetsPath}console.css`, path.join(sourceDir, 'console.css'));
  add(`${consoleAssetsPath}icon.svg`, path.join(sourceDir, 'icon.svg'));
  const scripts = fs.existsSync(scriptsDir) ? fs.readdirSync(scriptsDir).filter((name) => scriptName.test(name)) : [];
  if (!scripts.includes('console.js')) missing.push(path.join(scriptsDir, 'console.js'));
  for (const name of scripts) add(`${consoleAssetsPath}${name}`, path.join(scriptsDir, name));
  return { assets, missing };
}

function send(request: FastifyRequest, reply: FastifyReply, file: ConsoleAsset): FastifyReply {
  reply
    .header('content-security-policy', consoleContentSecurityPolicy)
    // Revalidated on every load, so a new build is seen at once; the ETag makes that a 304.
    .header('cache-control', 'no-cache')
    .header('etag', file.etag)
    .type(file.type);
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.send(file.body);
}

export const consolePlugin: FastifyPluginAsync<ConsoleOptions> = async (app, options) => {
  const { assets, missing } = loadAssets(options.sourceDir ?? defaultSourceDir, options.scriptsDir ?? defaultScriptsDir);
  if (missing.length > 0) {
    // A gateway built without the page (tsc alone) still serves its API; the page says what to do.
    app.log.warn({ missing }, 'console page not built: run npm run build');
    app.get(consolePath, { schema: { hide: true } }, (_request, reply) =>
      sendProblem(reply, 503, { resultCode: ResultCode.API_CONFIG_ERROR, detail: 'The console page is not built: run npm run build. The API is served; see /docs.' }),
    );
    return;
  }
  for (const [urlPath, file] of assets) {
    app.get(urlPath, { schema: { hide: true } }, (request, reply) => send(request, reply, file));
  }
};
