/**
 * `npm run bench:export`: exports through the gateway against the tools one would otherwise use on
 * the same files, in one run:
 *   1. MULTIEXPORT of the 200 seeded recordings as wav, versus `zip -0 -q -r -` of the same files;
 *   2. one 10-minute recording as mp3: made (a gateway that caches nothing) versus the ffmpeg CLI on
 *      the same file, with the first byte's time; then served from the transcode cache versus nginx
 *      serving the same cached file (throughput with parallel downloads, and time to first byte);
 *   3. finding 1000 recordings (a MULTIEXPORT's IDENT list) through each recording source, beside
 *      the MULTIEXPORT of those 1000 recordings: RECORDINGINFO, the product database (PostgreSQL,
 *      filled by the simulator), the event index and the share, each in a gateway of its own.
 * Each is downloaded with curl (or piped) to nowhere; times are wall-clock, with the time to first
 * byte, and the gateway's peak RSS during (1). Machines are shared and noisy: the ratios matter.
 * The simulator runs as a process of its own, as a core does in production, so the RSS measured is
 * the gateway's alone (an embedded simulator would add its store and its seeding to it).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { locateFfmpeg, mp3Bitrate, mp3MinimumRate } from '../src/media/ffmpeg.js';
import { findCommand } from '../src/protocol/catalog.js';
import { childText, elementsAt, parseXml } from '../src/protocol/xml.js';
import { RecordingFiles } from '../src/media/recording-files.js';
import { productRecordingRoot } from '../src/sim/product-format.js';
import { canPin, freePorts, median, pinToCore, untilReady } from './measure.js';
import pg from 'pg';
import { randomBytes } from 'node:crypto';

const here = path.dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);

interface Timing {
  seconds: number;
  firstByteSeconds: number;
  bytes: number;
}

/**
 * Collect this process's garbage before a timed run: the 116 MB of zip output it read through a
 * pipe would otherwise be collected during the next run, on a core the gateway needs.
 */
function settle(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * GET `url` to nowhere with curl, as a script would download it: the client is a native process,
 * like zip and ffmpeg on the other side, rather than this Node process competing for the CPU.
 */
function download(url: string): Promise<Timing> {
  settle();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-s', '-f', '-o', '/dev/null', '-w', '%{time_starttransfer} %{size_download}', url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`curl ${url} exited ${code}`));
      const [firstByte, bytes] = out.trim().split(' ').map(Number) as [number, number];
      resolve({ seconds: (performance.now() - started) / 1000, firstByteSeconds: firstByte, bytes });
    });
  });
}

/** A command's stdout to nowhere. */
function command(file: string, args: string[], cwd?: string): Promise<Timing> {
  settle();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] });
    let firstByte = 0;
    let bytes = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      if (bytes === 0) firstByte = performance.now();
      bytes += chunk.length;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve({ seconds: (performance.now() - started) / 1000, firstByteSeconds: (firstByte - started) / 1000, bytes }) : reject(new Error(`${file} exited ${code}`)),
    );
  });
}

/**
 * `count` downloads of `url` to nowhere by one curl, `parallel` at a time over kept-alive
 * connections: the throughput a native client gets, in bytes per second.
 */
function parallelDownloads(url: string, count: number, parallel: number, configDir: string): Promise<{ bytesPerSecond: number; bytes: number }> {
  settle();
  const config = path.join(configDir, 'curl-downloads.conf');
  fs.writeFileSync(config, `url = "${url}"\noutput = "/dev/null"\n`.repeat(count));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-s', '--no-progress-meter', '-f', '--parallel', '--parallel-max', String(parallel), '-K', config, '-w', '%{http_code} %{size_download}\n'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const lines = out.trim().split('\n');
      if (code !== 0 || lines.length !== count || lines.some((l) => !l.startsWith('200 '))) return reject(new Error(`curl of ${url} exited ${code}: ${lines.slice(0, 3).join('; ')}`));
      const bytes = lines.reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
      resolve({ bytesPerSecond: bytes / seconds, bytes });
    });
  });
}

/** nginx in the foreground, one process, serving `root` on `port`, its files under `prefix`. */
async function startNginx(root: string, port: number, prefix: string): Promise<ReturnType<typeof spawn>> {
  const nginx = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((f) => fs.existsSync(f));
  if (!nginx) throw new Error('nginx is not installed (apt-get install -y nginx)');
  fs.mkdirSync(prefix, { recursive: true });
  const temp = (name: string): string => `${name}_temp_path ${path.join(prefix, name)};`;
  // As a static file server is deployed for speed: sendfile, no access log. One worker, in the
  // foreground, as the user running the benchmark (no master to switch users).
  fs.writeFileSync(
    path.join(prefix, 'nginx.conf'),
    `daemon off;
master_process off;
worker_processes 1;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  types { audio/mpeg mp3; }
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
  );
  const child = spawn(nginx, ['-p', prefix, '-e', path.join(prefix, 'error.log'), '-c', path.join(prefix, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return child;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`nginx did not start: ${fs.readFileSync(path.join(prefix, 'error.log'), 'utf8')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The highest RSS `pid` reaches while `run` runs, sampled every 25 ms. */
async function peakRssDuring<T>(pid: number, run: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = rssOf(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 25);
  try {
    const result = await run();
    return { result, peak: Math.max(peak, rssOf(pid)) };
  } finally {
    clearInterval(sampler);
  }
}

function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** A gateway process, with `env` added to this one's environment. */
function startGateway(port: number, env: NodeJS.ProcessEnv): ReturnType<typeof spawn> {
  return spawn(process.execPath, [path.join(here, '../src/main.js')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/**
 * A database of its own on the local PostgreSQL for the simulator to keep the Recording table in,
 * or undefined (and the database source is not measured) when there is no PostgreSQL.
 */
async function benchDatabase(): Promise<{ url: string; drop: () => Promise<void> } | undefined> {
  const admin = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `uptivity_bench_${randomBytes(4).toString('hex')}`;
  const run = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 3000 });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  try {
    await run(`CREATE DATABASE ${name}`);
  } catch (error) {
    process.stdout.write(`no PostgreSQL at ${admin.replace(/\/\/[^@]*@/, '//')} (${(error as Error).message}): the database source is not measured\n`);
    return undefined;
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Seconds the gateway on `port` has spent asking its recording sources, by its own histogram. */
async function lookupSecondsSoFar(port: number): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...metrics.matchAll(/^uptivity_recording_lookup_duration_seconds_sum\{[^}]*\} ([0-9.e+-]+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/**
 * A HEAD of the REST media route, which finds every recording, checks its file and answers the
 * headers without exporting: its seconds, and those of the lookup in the source within it.
 */
async function resolve(port: number, url: string): Promise<{ head: number; lookup: number }> {
  settle();
  const before = await lookupSecondsSoFar(port);
  const started = performance.now();
  const response = await fetch(url, { method: 'HEAD' });
  if (!response.ok) throw new Error(`HEAD ${url.slice(0, 80)}... answered ${response.status}`);
  const head = (performance.now() - started) / 1000;
  return { head, lookup: (await lookupSecondsSoFar(port)) - before };
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-export-'));
  const [port, corePort, eventPort, controlPort, databasePort, indexPort, sharePort, uncachedPort, nginxPort] = (await freePorts(9)) as [
    number, number, number, number, number, number, number, number, number,
  ];
  const database = await benchDatabase();
  const simulator = spawn(
    process.execPath,
    [
      path.join(here, '../src/sim/main.js'),
      ...['--port', String(corePort), '--event-port', String(eventPort), '--control-port', String(controlPort), '--data', dataDir, '--seed'],
      ...(database ? ['--recordings-db', database.url] : []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const core = {
    CORE_HOST: '127.0.0.1',
    CORE_PORT: String(corePort),
    CORE_EVENT_PORT: String(eventPort),
    RECORDINGS_PATH_MAP: `${productRecordingRoot}=${path.join(dataDir, 'recordings')}`,
  };
  // The gateway measured throughout finds recordings through RECORDINGINFO; one gateway per other
  // source, each with only that source, is measured in part 3.
  const cacheDir = path.join(dataDir, 'gateway', 'media-cache');
  const gateway = startGateway(port, { ...core, RECORDINGS_SOURCES: 'recordinginfo', GATEWAY_DATA_DIR: path.join(dataDir, 'gateway'), MEDIA_CACHE_DIR: cacheDir });
  // The same, keeping nothing: every export of it is a first, uncached one.
  const uncached = startGateway(uncachedPort, { ...core, RECORDINGS_SOURCES: 'recordinginfo', GATEWAY_DATA_DIR: path.join(dataDir, 'gateway-uncached'), MEDIA_CACHE_MAX_BYTES: '0' });
  let nginx: ReturnType<typeof spawn> | undefined;
  const sourceGateways = [
    ...(database ? [{ name: 'database (PostgreSQL)', port: databasePort, env: { RECORDINGS_SOURCES: 'database', RECORDINGS_DB_URL: database.url } }] : []),
    { name: 'index (SQLite)', port: indexPort, env: { RECORDINGS_SOURCES: 'index' } },
    { name: 'share (CALLLIST + file naming)', port: sharePort, env: { RECORDINGS_SOURCES: 'share' } },
  ].map((g) => ({ ...g, child: startGateway(g.port, { ...core, ...g.env, GATEWAY_DATA_DIR: path.join(dataDir, `gateway-${g.port}`) }) }));
  const base = `http://127.0.0.1:${port}/webAPI.aspx`;
  try {
    await Promise.all([port, uncachedPort, ...sourceGateways.map((g) => g.port)].map((p) => untilReady(`http://127.0.0.1:${p}/readyz`)));
    const idents = Array.from({ length: 200 }, (_, i) => String(10121901 + i));
    const info = parseXml(await (await fetch(`${base}?type=recordinginfo&requestid=1&ident=${idents.join(',')}`)).text());
    // zip is given the same files, as paths relative to the recordings directory.
    const recordingsDir = fs.realpathSync(path.join(dataDir, 'recordings'));
    const located = new RecordingFiles([{ productRoot: productRecordingRoot, directory: recordingsDir }]);
    const files = await Promise.all(
      elementsAt(info, findCommand('RECORDINGINFO')!.result.lists[0]!).map(async (r) => path.relative(recordingsDir, await located.locate(childText(r, 'FILENAME')!))),
    );
    const sourceBytes = files.reduce((sum, f) => sum + fs.statSync(path.join(recordingsDir, f)).size, 0);

    const multi: Timing[] = [];
    const zip: Timing[] = [];
    let peakRss = 0;
    let mp3PeakRss = 0;
    const idleRss = rssOf(gateway.pid!);
    const multiUrl = `${base}?type=multiexport&requestid=2&ident=${idents.join(',')}&media_format=wav`;
    const mp3Url = `http://127.0.0.1:${uncachedPort}/webAPI.aspx?type=export&requestid=3&uniquefield=ident&uniqueid=${idents[0]}&media_format=mp3`;
    // One untimed run of each first: a gateway serves for days, and its first export of a kind
    // pays for compiling the code on its path, which zip and ffmpeg, native programs, never do.
    peakRss = (await peakRssDuring(gateway.pid!, () => download(multiUrl))).peak;
    mp3PeakRss = (await peakRssDuring(uncached.pid!, () => download(mp3Url))).peak;
    // Each round times the gateway and the tool back to back, in alternating order, and the ratio
    // reported is the median of the rounds' ratios: load from elsewhere on a shared machine comes
    // and goes in bursts, and a burst then weighs on both sides of one ratio rather than on one
    // side of the medians.
    const gatewayMulti = async (): Promise<void> => {
      const { result, peak } = await peakRssDuring(gateway.pid!, () => download(multiUrl));
      multi.push(result);
      peakRss = Math.max(peakRss, peak);
    };
    const zipAll = async (): Promise<void> => {
      zip.push(await command('zip', ['-0', '-q', '-r', '-', ...files], recordingsDir));
    };
    for (let r = 0; r < rounds; r++) {
      for (const run of r % 2 === 0 ? [gatewayMulti, zipAll] : [zipAll, gatewayMulti]) await run();
      if (process.env.BENCH_VERBOSE) process.stdout.write(`round ${r + 1}: MULTIEXPORT ${multi.at(-1)!.seconds.toFixed(3)} s, zip ${zip.at(-1)!.seconds.toFixed(3)} s\n`);
    }

    const ffmpeg = await locateFfmpeg(process.env.FFMPEG_PATH);
    const tenMinutes = path.join(recordingsDir, files[0]!);
    const mp3: Timing[] = [];
    const cli: Timing[] = [];
    const gatewayMp3 = async (): Promise<void> => {
      const { result, peak } = await peakRssDuring(uncached.pid!, () => download(mp3Url));
      mp3.push(result);
      mp3PeakRss = Math.max(mp3PeakRss, peak);
    };
    const ffmpegCli = async (): Promise<void> => {
      cli.push(await command(ffmpeg, ['-v', 'error', '-i', tenMinutes, '-ac', '1', '-ar', String(mp3MinimumRate), '-codec:a', 'libmp3lame', '-b:a', mp3Bitrate, '-f', 'mp3', 'pipe:1']));
    };
    for (let r = 0; r < rounds; r++) {
      for (const run of r % 2 === 0 ? [gatewayMp3, ffmpegCli] : [ffmpegCli, gatewayMp3]) await run();
    }

    // The first request of each other format, once: what a caller waits before the first byte.
    const firstOther: { format: string; timing: Timing }[] = [];
    for (const format of ['m4a', 'webm', 'opus']) {
      firstOther.push({ format, timing: await download(mp3Url.replace('media_format=mp3', `media_format=${format}`)) });
    }

    // 2b. The same mp3 from the cache, against nginx serving the file the cache holds. Both servers
    // on one core, curl and the simulator on the other (where taskset exists; BENCH_PIN=0 turns it off).
    const cachedUrl = `http://127.0.0.1:${port}/api/v1/recordings/${idents[0]}/media?format=mp3`;
    await download(cachedUrl);
    const cachedFiles = fs.readdirSync(cacheDir).filter((f) => f.endsWith('.mp3'));
    if (cachedFiles.length !== 1) throw new Error(`expected one cached mp3, found ${cachedFiles.join(', ')}`);
    nginx = await startNginx(cacheDir, nginxPort, path.join(dataDir, 'nginx'));
    const nginxUrl = `http://127.0.0.1:${nginxPort}/${cachedFiles[0]}`;
    const pinned = canPin && process.env.BENCH_PIN !== '0';
    if (pinned) {
      for (const server of [gateway, nginx]) pinToCore(server.pid, 0);
      pinToCore(simulator.pid, 1);
      pinToCore(process.pid, 1);
    }
    const downloads = Number(process.env.BENCH_DOWNLOADS ?? 200);
    const parallel = Number(process.env.BENCH_PARALLEL ?? 4);
    const hitRuns: { bytesPerSecond: number }[] = [];
    const nginxRuns: { bytesPerSecond: number }[] = [];
    const hitFirst: Timing[] = [];
    const nginxFirst: Timing[] = [];
    // Warm both (the gateway compiles its path, nginx opens the file once).
    await parallelDownloads(cachedUrl, 20, parallel, dataDir);
    await parallelDownloads(nginxUrl, 20, parallel, dataDir);
    for (let r = 0; r < rounds; r++) {
      const sides = [
        async () => {
          hitRuns.push(await parallelDownloads(cachedUrl, downloads, parallel, dataDir));
          hitFirst.push(await download(cachedUrl));
        },
        async () => {
          nginxRuns.push(await parallelDownloads(nginxUrl, downloads, parallel, dataDir));
          nginxFirst.push(await download(nginxUrl));
        },
      ];
      for (const run of r % 2 === 0 ? sides : sides.reverse()) await run();
      if (process.env.BENCH_VERBOSE) process.stdout.write(`round ${r + 1}: cache hit ${(hitRuns.at(-1)!.bytesPerSecond / 1e6).toFixed(0)} MB/s, nginx ${(nginxRuns.at(-1)!.bytesPerSecond / 1e6).toFixed(0)} MB/s\n`);
    }
    if (pinned) {
      const all = `0-${os.availableParallelism() - 1}`;
      for (const pid of [gateway.pid, simulator.pid, process.pid]) execFileSync('taskset', ['-a', '-p', '-c', all, String(pid)], { stdio: 'ignore' });
    }

    const row = (name: string, t: Timing[]): string =>
      `${name.padEnd(44)} ${median(t.map((x) => x.seconds)).toFixed(3).padStart(8)} ${median(t.map((x) => x.firstByteSeconds)).toFixed(3).padStart(9)} ${(median(t.map((x) => x.bytes)) / 1e6).toFixed(1).padStart(9)}`;
    process.stdout.write(`\n200 recordings, ${(sourceBytes / 1e6).toFixed(0)} MB of WAV (PCM, mu-law and A-law); medians of ${rounds} rounds\n\n`);
    process.stdout.write(`${'run'.padEnd(44)} ${'seconds'.padStart(8)} ${'1st byte'.padStart(9)} ${'MB out'.padStart(9)}\n`);
    process.stdout.write(`${row('MULTIEXPORT wav through the gateway', multi)}\n${row('zip -0 -q -r - of the same files', zip)}\n`);
    process.stdout.write(`${row('EXPORT mp3 of a 10-minute recording', mp3)}\n${row(`ffmpeg CLI, same file, libmp3lame ${mp3Bitrate}`, cli)}\n\n`);
    const ratio = (a: Timing[], b: Timing[]): string => median(a.map((x, i) => x.seconds / b[i]!.seconds)).toFixed(2);
    process.stdout.write(`ratios, the median of the rounds' own:\n`);
    process.stdout.write(`MULTIEXPORT / zip:        ${ratio(multi, zip)}  (goal <= 1.25)\n`);
    process.stdout.write(`gateway peak RSS:         ${(peakRss / 1e6).toFixed(0)} MB during MULTIEXPORT  (goal < 150; idle before: ${(idleRss / 1e6).toFixed(0)} MB, during mp3: ${(mp3PeakRss / 1e6).toFixed(0)} MB)\n`);
    process.stdout.write(`EXPORT mp3 / ffmpeg CLI:  ${ratio(mp3, cli)}  (goal <= 1.1; uncached: ffmpeg writes the file whole, then it is sent)\n`);
    process.stdout.write(`\nfirst (uncached) EXPORT of the 10-minute recording, time to first byte: mp3 ${median(mp3.map((t) => t.firstByteSeconds)).toFixed(3)} s (median of ${rounds})`);
    process.stdout.write(`${firstOther.map(({ format, timing }) => `, ${format} ${timing.firstByteSeconds.toFixed(3)} s`).join('')} (once each)\n`);
    const mb = (runs: { bytesPerSecond: number }[]): string => (median(runs.map((x) => x.bytesPerSecond)) / 1e6).toFixed(0);
    const ms = (t: Timing[]): string => (median(t.map((x) => x.firstByteSeconds)) * 1000).toFixed(2);
    process.stdout.write(
      `\ncached mp3 (${(fs.statSync(path.join(cacheDir, cachedFiles[0]!)).size / 1e6).toFixed(1)} MB), ${downloads} downloads ${parallel} at a time per round${pinned ? ', servers on core 0, curl on core 1' : ''}:\n`,
    );
    process.stdout.write(`  gateway cache hit: ${mb(hitRuns)} MB/s, first byte ${ms(hitFirst)} ms\n  nginx, same file:  ${mb(nginxRuns)} MB/s, first byte ${ms(nginxFirst)} ms\n`);
    process.stdout.write(`cache hit / nginx throughput:   ${median(hitRuns.map((x, i) => x.bytesPerSecond / nginxRuns[i]!.bytesPerSecond)).toFixed(2)}  (goal >= 0.8)\n`);
    process.stdout.write(`cache hit / nginx first byte:   ${median(hitFirst.map((x, i) => x.firstByteSeconds / nginxFirst[i]!.firstByteSeconds)).toFixed(2)}  (time; lower is better)\n`);

    // BENCH_SOURCES=0 stops here (parts 1 and 2 alone).
    if (process.env.BENCH_SOURCES === '0') return;
    // 3. 1000 calls recorded while the index listened (5 s each, on the 15 fixed-seat devices),
    // then found through each source: a HEAD of the REST media route resolves every recording and
    // answers the headers without exporting. The MULTIEXPORT of the same 1000 is the yardstick.
    const control = `http://127.0.0.1:${controlPort}`;
    for (let i = 0; i < 1000; i++) {
      const device = 7001 + (i % 15);
      await (await fetch(`${base}?type=callstart&requestid=${i + 10}&deviceid=${device}`)).text();
      await (await fetch(`${control}/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: 5000 }) })).text();
      await (await fetch(`${base}?type=callstop&requestid=${i + 10}&deviceid=${device}`)).text();
    }
    const listed = parseXml(await (await fetch(`${base}?type=calllist&requestid=4&callcount=1000`)).text());
    const recorded = elementsAt(listed, findCommand('CALLLIST')!.result.lists[0]!).map((r) => childText(r, 'RECORDID')!);
    const indexGateway = sourceGateways.find((g) => g.name.startsWith('index'))!;
    for (let i = 0; ; i++) {
      const metrics = await (await fetch(`http://127.0.0.1:${indexGateway.port}/metrics`)).text();
      if (Number(/^uptivity_recording_index_recordings (\d+)/m.exec(metrics)?.[1] ?? 0) >= 1000) break;
      if (i > 600) throw new Error('the event index did not receive the 1000 recordings');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const media = (p: number): string => `http://127.0.0.1:${p}/api/v1/recordings/media?recordIds=${recorded.join(',')}&format=wav&as=zip`;
    const resolvers = [{ name: 'recordinginfo (the core)', port }, ...sourceGateways];
    // The first lookup of each pays for what it learns once (the index asks CALLLIST for DURATION).
    const first: { head: number; lookup: number }[] = [];
    for (const resolver of resolvers) first.push(await resolve(resolver.port, media(resolver.port)));
    const exportOf1000: Timing[] = [];
    const resolution = resolvers.map(() => [] as { head: number; lookup: number }[]);
    for (let r = 0; r < rounds; r++) {
      exportOf1000.push(await download(`${base}?type=multiexport&requestid=5&ident=${recorded.join(',')}&media_format=wav`));
      for (const [i, resolver] of resolvers.entries()) resolution[i]!.push(await resolve(resolver.port, media(resolver.port)));
    }
    const exportSeconds = median(exportOf1000.map((t) => t.seconds));
    process.stdout.write(`\nfinding the 1000 recordings of a MULTIEXPORT (1000 calls of 5 s), medians of ${rounds} rounds; MULTIEXPORT wav of them: ${exportSeconds.toFixed(3)} s, ${(median(exportOf1000.map((t) => t.bytes)) / 1e6).toFixed(1)} MB\n`);
    process.stdout.write(`lookup: the source's answer (the gateway's own histogram); HEAD: lookup, the 1000 files checked, the headers\n\n`);
    process.stdout.write(`${'source'.padEnd(34)} ${'1st lookup'.padStart(10)} ${'lookup'.padStart(8)} ${'HEAD'.padStart(8)}  lookup / MULTIEXPORT (each round's own)\n`);
    for (const [i, resolver] of resolvers.entries()) {
      const runs = resolution[i]!;
      const share = median(runs.map((t, r) => t.lookup / exportOf1000[r]!.seconds));
      const seconds = (n: number): string => n.toFixed(3).padStart(8);
      process.stdout.write(
        `${resolver.name.padEnd(34)} ${first[i]!.lookup.toFixed(3).padStart(10)} ${seconds(median(runs.map((t) => t.lookup)))} ${seconds(median(runs.map((t) => t.head)))}  ${(share * 100).toFixed(1)} %\n`,
      );
    }
  } finally {
    const children = [gateway, uncached, ...sourceGateways.map((g) => g.child), simulator, ...(nginx ? [nginx] : [])];
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode === null ? once(child, 'exit') : undefined)));
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
