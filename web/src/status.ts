/**
 * The status panel: whether the gateway reaches the XML core (/readyz, open to all), its pool of
 * core connections and its live-event subscription (/metrics, the Prometheus text anyone's
 * dashboard reads), and the recording system's own SYSTEMSTATUS (GET /api/v1/system/status, the
 * `status` scope). Each part is asked on its own, so one refused or failing shows alone.
 */
import { ApiError, call, describe, getJson } from './api.js';
import { byId, clockDuration, describeTerm, element } from './markup.js';

interface Readiness {
  status: string;
  core: string;
  recordings?: { name: string; active: boolean; detail: string }[];
}

interface SystemStatus {
  status: {
    recordingPath?: string | null;
    recordingTotalDiskCapacity?: number | null;
    recordingTotalDiskFree?: number | null;
    recordingTotalDiskFreePct?: number | null;
    systemUptime?: string | null;
    systemRamTotal?: number | null;
    systemRamUsedPct?: number | null;
    processors?: { systemProcessorType?: string | null; systemProcessorSpeed?: string | null }[];
  };
}

/** The gauges of /metrics the panel shows; the rest of the text is skipped. */
const shownMetrics = new Set(['uptivity_core_up', 'uptivity_core_pool_connections', 'uptivity_core_pool_queue_depth', 'uptivity_events_port_up', 'uptivity_events_listeners', 'uptivity_export_active_transcodes']);
const metricLine = /^([a-z_]+)(?:\{state="([a-z_]+)"\})? ([-+0-9.eE]+)$/;

/** `name` or `name:state` → value, of the gauges shown. */
function readMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = metricLine.exec(line);
    if (!match || !shownMetrics.has(match[1]!)) continue;
    values.set(match[2] ? `${match[1]}:${match[2]}` : match[1]!, Number(match[3]));
  }
  return values;
}

function upDown(up: boolean): HTMLElement {
  return element('span', { text: up ? 'up' : 'down', className: up ? 'state-up' : 'state-down' });
}

async function showReadiness(list: HTMLDListElement): Promise<void> {
  // Not through call(): 503 is an answer here, with the same body.
  const response = await fetch('/readyz', { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
  const readiness = (await response.json()) as Readiness;
  describeTerm(list, 'XML core', upDown(readiness.core === 'up'));
  const sources = readiness.recordings ?? [];
  if (sources.length > 0) {
    const items = element('ul', { className: 'plain' });
    for (const source of sources) {
      items.append(element('li', { text: `${source.name}: ${source.active ? 'in use' : 'off'}`, attributes: { title: source.detail } }));
    }
    describeTerm(list, 'Recording sources', items);
  }
}

async function showPool(list: HTMLDListElement): Promise<void> {
  const response = await call('/metrics', { headers: { accept: 'text/plain' } });
  const metrics = readMetrics(await response.text());
  const value = (name: string): string => (metrics.has(name) ? String(metrics.get(name)) : '?');
  describeTerm(
    list,
    'Core connections',
    `${value('uptivity_core_pool_connections:in_use')} in use, ${value('uptivity_core_pool_connections:open')} open of ${value('uptivity_core_pool_connections:size')}; ${value('uptivity_core_pool_queue_depth')} waiting`,
  );
  if (metrics.has('uptivity_events_port_up')) describeTerm(list, 'Event port', upDown(metrics.get('uptivity_events_port_up') === 1));
  describeTerm(list, 'Live event listeners', value('uptivity_events_listeners'));
  describeTerm(list, 'Transcodes running', value('uptivity_export_active_transcodes'));
}

/** SYSTEMSTATUS gives disk and memory in megabytes (the manual's unit). */
function megabytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '?';
  const units = ['MB', 'GB', 'TB', 'PB'];
  let amount = value;
  let unit = 0;
  while (amount >= 1024 && unit < units.length - 1) {
    amount /= 1024;
    unit += 1;
  }
  return `${amount.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

async function showSystem(list: HTMLDListElement): Promise<void> {
  const { status } = await getJson<SystemStatus>('/api/v1/system/status');
  describeTerm(list, 'Recording disk free', `${megabytes(status.recordingTotalDiskFree)} of ${megabytes(status.recordingTotalDiskCapacity)} (${status.recordingTotalDiskFreePct ?? '?'}%)`);
  describeTerm(list, 'Memory used', `${status.systemRamUsedPct ?? '?'}% of ${megabytes(status.systemRamTotal)}`);
  if (status.systemUptime) describeTerm(list, 'System uptime', /^\d+$/.test(status.systemUptime) ? clockDuration(Number(status.systemUptime)) : status.systemUptime);
  const processors = status.processors ?? [];
  const first = processors[0];
  if (first) describeTerm(list, 'Processors', [`${processors.length} ×`, first.systemProcessorType, first.systemProcessorSpeed && `at ${first.systemProcessorSpeed}`].filter(Boolean).join(' '));
}

/** Each part fills its own list, or says in it why it cannot. */
async function fill(id: string, part: (list: HTMLDListElement) => Promise<void>): Promise<void> {
  const list = byId<HTMLDListElement>(id);
  const fresh = element('dl', { attributes: { id } });
  try {
    await part(fresh);
  } catch (error) {
    fresh.replaceChildren(element('dt', { text: 'Not available' }), element('dd', { text: describe(error), className: error instanceof ApiError && error.status === 403 ? 'refused' : 'failed' }));
  }
  list.replaceWith(fresh);
}

export async function refreshStatus(): Promise<void> {
  await Promise.all([fill('status-core', showReadiness), fill('status-pool', showPool), fill('status-system', showSystem)]);
  byId('status-updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
}
