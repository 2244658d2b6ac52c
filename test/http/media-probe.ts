/** What ffprobe, a tool independent of our code, says of an exported file. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface MediaProbe {
  codec: string;
  sampleRate: number;
  channels: number;
  /**
   * Seconds that play: ffprobe's duration spans every packet, the encoder's priming included, which
   * its start time names (negative for AAC's edit list, positive for an MP3's LAME delay): taken off.
   */
  duration: number;
  format: string;
}

/** The end of the last packet: the duration of a stream whose container does not state one. */
async function packetsDuration(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', file]);
  const last = stdout.trim().split('\n').at(-1)!.split(',').map(Number);
  return last[0]! + (last[1] ?? 0);
}

export async function probe(file: string): Promise<MediaProbe> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]);
  const info = JSON.parse(stdout) as {
    streams: { codec_name: string; sample_rate: string; channels: number; duration?: string; start_time?: string }[];
    format: { duration: string; format_name: string };
  };
  const stream = info.streams[0]!;
  const skipped = -Math.abs(Number(stream.start_time ?? 0) || 0);
  return {
    codec: stream.codec_name,
    sampleRate: Number(stream.sample_rate),
    channels: stream.channels,
    duration: (Number(stream.duration ?? info.format.duration ?? NaN) || (await packetsDuration(file))) + skipped,
    format: info.format.format_name,
  };
}

/**
 * Seconds of audio ffmpeg decodes from `file`: what a player that honours the file's gapless
 * information (an MP3's LAME tag, an MP4's edit list, Opus pre-skip) plays.
 */
export async function decodedDuration(file: string): Promise<number> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:a:0', '-f', 's16le', '-ac', '1', '-ar', '48000', 'pipe:1'], { encoding: 'buffer', maxBuffer: 1 << 30 });
  return stdout.length / 2 / 48000;
}
