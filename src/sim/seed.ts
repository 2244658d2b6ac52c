/**
 * `--seed`: a realistic contact centre in a fresh store, deterministic so that tests and people can
 * rely on what is there. It includes the records the manual's own examples refer to (device 1111
 * signed on as DESK1, station JamesBond, agent JSMITH, the CALLLIST example's recordings of
 * August 2011, recording 46 of the EMAIL example...) so that those examples answer as printed, and
 * 200 recent recordings with known durations:
 *
 *   recording 10121901 lasts 600 s; recording 10121901 + i (i = 1..199) lasts 5 + (37 * i mod 91) s;
 *   USER2 of each recent recording is its RECORDID (the WebAPI EXPORT example asks for user2=10121968).
 */
import path from 'node:path';
import { writeRecordingWav } from './audio.js';
import type { WavEncoding } from '../audio/wav.js';
import type { SimContext } from './context.js';
import { productFilename, recordingRelativePath } from './product-format.js';
import { getMeta, setMeta } from './store.js';

export const firstRecentRecording = 10121901;
export const recentRecordingCount = 200;

export function seededDuration(ident: number): number {
  const i = ident - firstRecentRecording;
  return i === 0 ? 600 : 5 + ((37 * i) % 91);
}

/** A small deterministic generator (mulberry32), so the dataset is the same on every machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface AgentSeed {
  first: string;
  last: string;
  username: string;
  sysUser: string;
  crmUser: string;
  phone: string;
  /** Device the agent signs on at with `phone` as alias (free seating); absent: the phone is the device. */
  device?: string;
  site: number;
}

const agents: readonly AgentSeed[] = [
  { first: 'Greg', last: 'Kerber', username: 'gkerber', sysUser: 'gkerber', crmUser: 'CCGKERBER', phone: 'DESK1', device: '1111', site: 1 },
  { first: 'John', last: 'Smith', username: 'jsmith', sysUser: 'JSMITH', crmUser: 'CRMJSMITH', phone: '3540', device: '7010', site: 1 },
  { first: 'John', last: 'Doe', username: 'JDOE', sysUser: 'jdoe', crmUser: 'john', phone: '7001', site: 1 },
  { first: 'Jane', last: 'Doe', username: 'jane.doe', sysUser: 'jane.doe', crmUser: 'janed', phone: '7008', site: 1 },
  { first: 'Maria', last: 'Garcia', username: 'mgarcia', sysUser: 'maria.garcia', crmUser: 'mgarcia', phone: '7002', site: 1 },
  { first: 'David', last: 'Chen', username: 'dchen', sysUser: 'david.chen', crmUser: 'dchen', phone: '7003', site: 1 },
  { first: 'Aisha', last: 'Khan', username: 'akhan', sysUser: 'aisha.khan', crmUser: 'akhan', phone: '7004', site: 1 },
  { first: 'Liam', last: "O'Brien", username: 'lobrien', sysUser: 'liam.obrien', crmUser: 'lobrien', phone: '7005', site: 1 },
  { first: 'Sofia', last: 'Rossi', username: 'srossi', sysUser: 'sofia.rossi', crmUser: 'srossi', phone: '7006', site: 1 },
  { first: 'James', last: 'Bond', username: 'jbond', sysUser: 'james.bond', crmUser: 'jbond', phone: '7007', site: 1 },
  { first: 'Noah', last: 'Williams', username: 'nwilliams', sysUser: 'noah.williams', crmUser: 'nwilliams', phone: '7009', site: 1 },
  { first: 'Emma', last: 'Johnson', username: 'ejohnson', sysUser: 'emma.johnson', crmUser: 'ejohnson', phone: '7011', site: 2 },
  { first: 'Lucas', last: 'Müller', username: 'lmuller', sysUser: 'lucas.muller', crmUser: 'lmuller', phone: '7012', site: 2 },
  { first: 'Chloé', last: 'Martin', username: 'cmartin', sysUser: 'chloe.martin', crmUser: 'cmartin', phone: '7013', site: 2 },
  { first: 'Hiroshi', last: 'Tanaka', username: 'htanaka', sysUser: 'hiroshi.tanaka', crmUser: 'htanaka', phone: '7014', site: 2 },
  { first: 'Olivia', last: 'Brown', username: 'obrown', sysUser: 'olivia.brown', crmUser: 'obrown', phone: '3541', device: '7101', site: 2 },
  { first: 'Ethan', last: 'Davis', username: 'edavis', sysUser: 'ethan.davis', crmUser: 'edavis', phone: '3542', device: '7102', site: 2 },
  { first: 'Priya', last: 'Patel', username: 'ppatel', sysUser: 'priya.patel', crmUser: 'ppatel', phone: '3543', device: '7103', site: 2 },
  { first: 'Mateo', last: 'Silva', username: 'msilva', sysUser: 'mateo.silva', crmUser: 'msilva', phone: '3544', device: '7104', site: 2 },
  { first: 'Chris', last: 'Eddy', username: 'ceddy', sysUser: 'ceddy', crmUser: 'ceddy', phone: '7015', site: 1 },
];

const terminology: readonly (readonly [string, string])[] = [
  ['agent', 'Agent'],
  ['ani', 'CallerID ANI'],
  ['callcopygroup', 'CallCopy group'],
  ['devicealias', 'Agent Number'],
  ['deviceid', 'Voice Port'],
  ['dnis', 'Number Called DNIS'],
  ['gate', 'ACD Gate'],
  ['group', 'Group'],
  ['user1', 'Account Number'],
  ['user2', 'CSN'],
];

const groups = ['Customer Service', 'Collections', 'Technical Support', 'Retention', 'MANAGER'];
const roles: readonly (readonly [string, string, readonly string[]])[] = [
  ['Administrator', 'Full administration', ['ALLOWAGENTADMIN', 'ALLOWSYSTEMCONFIG', 'ALLOWVIEWALLRECORDS', 'ALLOWEXPORTDOWNLOAD', 'ALLOWAPIAUTH']],
  ['Supervisor', 'Team supervision and QA', ['ALLOWQAVIEW', 'ALLOWLIVEMONITOR', 'CALLREPORTING', 'ALLOWEXPORTDOWNLOAD']],
  ['Agent', 'Own records only', ['VIEWOWNRECORDS', 'ALLOWCHANGEPASSWORD']],
];

/**
 * What every installation has, seeded or not: the sites and locations, the administrator, the
 * default terminology and the recording channels. Runs once per store.
 */
export function initializeStore(ctx: SimContext): void {
  const { db } = ctx;
  if (getMeta(db, 'initialized')) return;
  const now = ctx.clock.now();
  db.transaction(() => {
    db.prepare("INSERT INTO sites (site_id, name) VALUES (-1, 'All sites'), (1, 'Columbus'), (2, 'Denver')").run();
    db.prepare("INSERT INTO locations (location_id, name) VALUES (1, 'Columbus HQ'), (2, 'Denver'), (3, 'Remote')").run();
    // The production LIST output shows the administrator with no add time and no agent flag.
    db.prepare(
      "INSERT INTO users (user_id, username, first_name, last_name, agent, status, add_time, mod_time, email, site_id) VALUES (1, 'user1', 'CallCopy', 'Admin', 0, 'A', NULL, ?, 'user@user.com', -1)",
    ).run(Date.UTC(2017, 3, 12, 20, 51, 30));
    terminology.forEach(([name, value], i) => db.prepare('INSERT INTO terminology (position, name, value) VALUES (?, ?, ?)').run(i + 1, name, value));
    for (let id = 1; id <= ctx.options.channelCount; id++) {
      db.prepare('INSERT INTO channels (id, last_state_change) VALUES (?, ?)').run(id, now - id * 60_000);
    }
    setMeta(db, 'initialized', new Date(now).toISOString());
  })();
}

/** Fill a store with the dataset. Returns false (and changes nothing) when it was seeded before. */
export function seedStore(ctx: SimContext): boolean {
  const { db } = ctx;
  if (getMeta(db, 'seeded')) return false;
  const now = ctx.clock.now();
  const rand = random(5620);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const day = 86_400_000;

  db.transaction(() => {
    const insertUser = db.prepare(
      `INSERT INTO users (username, employee_id, first_name, last_name, agent, status, add_time, mod_time, sys_user, sys_domain, email, crm_user, site_id)
       VALUES (@username, @employee_id, @first, @last, 1, 'A', @add_time, @add_time, @sysUser, 'UPTIVITY', @email, @crmUser, @site)`,
    );
    const userIds = new Map<string, number>();
    agents.forEach((a, i) => {
      const info = insertUser.run({
        ...a,
        employee_id: String(1000 + i),
        add_time: Date.UTC(2016, i % 12, 1 + i, 14, 0, 0),
        email: `${a.username.toLowerCase().replace(/[^a-z0-9.]/g, '')}@contactcentre.example`,
      });
      userIds.set(a.username, Number(info.lastInsertRowid));
      db.prepare('INSERT INTO phones (phone_id, user_id) VALUES (?, ?)').run(a.phone, info.lastInsertRowid);
      const device = a.device ?? a.phone;
      db.prepare('INSERT INTO devices (device_id, device_alias) VALUES (?, ?)').run(device, a.device ? a.phone : '');
    });
    for (const [username, first, last] of [['TestUser', 'Test', 'User'], ['qasupervisor', 'Quality', 'Supervisor']] as const) {
      const info = db
        .prepare("INSERT INTO users (username, first_name, last_name, agent, status, add_time, mod_time, site_id) VALUES (?, ?, ?, 0, 'A', ?, ?, 1)")
        .run(username, first, last, Date.UTC(2018, 0, 15), Date.UTC(2018, 0, 15));
      userIds.set(username, Number(info.lastInsertRowid));
    }

    const insertStation = db.prepare('INSERT INTO stations (station_name, device_id, location_id) VALUES (?, ?, ?)');
    insertStation.run('JamesBond', '7007', 1);
    for (const a of agents.filter((x) => !x.device && x.phone !== '7007')) insertStation.run(`WS${a.phone}`, a.phone, a.site === 1 ? 1 : 2);

    groups.forEach((g) => db.prepare('INSERT INTO groups (group_name) VALUES (?)').run(g));
    agents.forEach((a, i) => {
      db.prepare('INSERT INTO group_agents (group_id, user_id, device_id) VALUES (?, ?, ?)').run((i % 4) + 1, userIds.get(a.username), a.device ?? a.phone);
    });
    db.prepare('INSERT INTO group_viewers (group_id, user_id) VALUES (1, ?), (2, ?)').run(userIds.get('qasupervisor'), userIds.get('qasupervisor'));
    roles.forEach(([name, description, permissions], i) => {
      db.prepare('INSERT INTO roles (role_name, description) VALUES (?, ?)').run(name, description);
      for (const permission of permissions) db.prepare('INSERT INTO role_permissions (role_id, permission) VALUES (?, ?)').run(i + 1, permission);
    });
    db.prepare('INSERT INTO user_roles (user_id, role_id) VALUES (1, 1)').run();
    db.prepare('INSERT INTO user_roles (user_id, role_id) VALUES (?, 2)').run(userIds.get('qasupervisor'));
    for (const id of userIds.values()) db.prepare('INSERT OR IGNORE INTO user_roles (user_id, role_id) VALUES (?, 3)').run(id);

    const insertWindow = db.prepare(
      'INSERT INTO agent_windows (computer_name, username, domain, ip_address, status, application_title, last_update) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const apps = ['Internet Explorer', 'Salesforce - Case 00012345', 'Outlook', 'CRM - Customer Lookup', 'Excel'];
    agents.forEach((a, i) => {
      // ceddy's window is the one the AGENTWINDOW example shows.
      if (a.username === 'ceddy') insertWindow.run('ceddy', 'ceddy', 'uptivity.com', '10.100.5.91', 'AVAILABLE', 'Internet Explorer', now - 60_000);
      else insertWindow.run(`WS${a.phone}`, a.username, 'uptivity.com', `10.100.5.${10 + i}`, i % 5 === 3 ? 'AWAY' : 'AVAILABLE', apps[i % apps.length], now - (i + 1) * 90_000);
    });

    const insertRecording = db.prepare(
      `INSERT INTO recordings (ident, agent_id, ani, dnis, calldirection, callid, channel, device_alias, device_id, duration, filename, gate, globalid,
         recording_time, sgroup, user1, user2, user3, user4, crm_user, sys_user, core_ident, media_path, audio_size)
       VALUES (@ident, @agent_id, @ani, @dnis, @calldirection, @callid, @channel, @device_alias, @device_id, @duration, @filename, @gate, @globalid,
         @recording_time, @sgroup, @user1, @user2, @user3, @user4, @crm_user, @sys_user, '1', @media_path, @audio_size)`,
    );
    const record = (ident: number, a: AgentSeed, startMs: number, duration: number, extra: Partial<Record<string, string>>, encoding: WavEncoding): void => {
      const device = a.device ?? a.phone;
      const label = a.device ? a.phone : device;
      const parts = recordingRelativePath(label, startMs);
      const { bytes } = writeRecordingWav(path.join(ctx.recordingsDir, ...parts), { durationSeconds: duration, encoding, seed: ident });
      insertRecording.run({
        ident,
        agent_id: String(userIds.get(a.username)),
        ani: `614555${String(1000 + Math.floor(rand() * 9000))}`,
        dnis: pick(['8889225526', '8005550100', '8005550199']),
        calldirection: pick(['I', 'I', 'O']),
        callid: String(Math.floor(rand() * 1e9)),
        channel: String(1 + Math.floor(rand() * ctx.options.channelCount)),
        device_alias: a.device ? a.phone : '',
        device_id: device,
        duration,
        filename: productFilename(parts),
        gate: pick(['80', '81', '82', 'prize']),
        globalid: `0001${String(ident).padStart(11, '0')}`,
        recording_time: Math.floor(startMs / 1000),
        sgroup: pick(['12', '53', 'MANAGER']),
        user1: pick(['Gold Level', 'Silver Level', 'Bronze Level']),
        user2: '',
        user3: '',
        user4: pick(['Sales Call', 'Billing question', 'Follow up on order', 'Cancellation']),
        crm_user: a.crmUser,
        sys_user: a.sysUser,
        media_path: parts.join('/'),
        audio_size: bytes,
        ...extra,
      });
    };

    // The recordings the manual's examples name: CALLLIST's (device 1111, USER3 12345, August 2011,
    // RECORDID 13101 by John Smith at 1312921123 lasting 60 s), EMAIL's 46, COMBINEDEMAIL's 1509 and
    // the post-recording CALLUPDATE's 554853.
    const smithAt1111 = { ...agents[1]!, device: '1111', phone: '1234' }; // signed on as 1234 back then
    [13096, 13097, 13098, 13099, 13100, 13101].forEach((ident, i) => {
      const time = ident === 13101 ? 1312921123 : 1312156800 + 3600 * 24 * (i + 1) + 3600 * 9;
      record(ident, smithAt1111, time * 1000, ident === 13101 ? 60 : 20 + i * 7, { user3: '12345' }, 'mulaw');
    });
    record(46, agents[2]!, Date.UTC(2011, 1, 2, 15, 0, 0), 42, {}, 'pcm16');
    record(1509, agents[3]!, Date.UTC(2011, 1, 2, 16, 0, 0), 37, {}, 'pcm16');
    record(554853, agents[4]!, Date.UTC(2012, 6, 13, 16, 30, 43), 25, {}, 'alaw');

    const encodings: readonly WavEncoding[] = ['pcm16', 'mulaw', 'alaw'];
    for (let i = 0; i < recentRecordingCount; i++) {
      const ident = firstRecentRecording + i;
      const a = agents[i % agents.length]!;
      const startMs = now - (recentRecordingCount - i) * (day * 60) / recentRecordingCount - Math.floor(rand() * 3_600_000);
      record(ident, a, startMs, seededDuration(ident), { user2: String(ident), user3: String(50000 + i) }, encodings[i % 3]!);
    }
    setMeta(db, 'seeded', new Date(now).toISOString());
  })();
  return true;
}
