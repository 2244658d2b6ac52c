/**
 * The Event Interface's vocabulary: the CALLCOPYEVENT types, their class, and the EVENTDATA fields
 * each carries, in the order the manual prints them.
 */

export type EventClass = 'CALL' | 'RECORD';

const users = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `USER${from + i}`);

const recordingFields = [
  'DEVICEID', 'FILENAME', 'CHANNEL', 'ERRORREASON', 'GLOBALCALLID', 'DEVICEALIAS', 'GATE', 'ANI', 'DNIS', 'AGENTID',
  ...users(1, 13), 'CALLINSTANCE', 'USER14', 'USER15', 'GROUP', 'KEEPDAYS', 'ARCHIVEACTION', 'COREIDENT',
];

export interface EventSpec {
  type: string;
  eventClass: EventClass;
  /** MODULE as the manual shows it ('' where it prints an empty element). */
  module: string;
  fields: readonly string[];
  summary: string;
}

export const eventSpecs: readonly EventSpec[] = [
  {
    type: 'CALLSTART',
    eventClass: 'CALL',
    module: 'Api',
    summary: 'A call start notification was received from a CTI or API source.',
    fields: [
      'GLOBALCALLID', 'DEVICEID', 'DEVICEALIAS', 'SYS_USER', 'CRM_USER', 'GATE', 'ANI', 'DNIS', 'AGENTID', ...users(1, 15),
      'GROUP', 'CALLINSTANCE', 'CALLDIRECTION', 'STATION', 'ISTRUNK', 'KEEPDAYS', 'ARCHIVEACTION', 'STARTTIME', 'COREIDENT',
    ],
  },
  {
    type: 'CALLSTOP',
    eventClass: 'CALL',
    module: 'Api',
    summary: 'A call stop or call end notification was received from a CTI or API source.',
    fields: [
      'DEVICEALIAS', 'SYS_USER', 'CRM_USER', 'GATE', 'ANI', 'DNIS', 'AGENTID', ...users(1, 10), 'CALLINSTANCE',
      ...users(11, 15), 'GROUP', 'KEEPDAYS', 'ARCHIVEACTION', 'GLOBALCALLID', 'DEVICEID', 'COREIDENT',
    ],
  },
  { type: 'RECORDINGSTARTED', eventClass: 'RECORD', module: 'Api', summary: 'A call is being recorded.', fields: recordingFields },
  {
    type: 'RECORDINGSTOPPED',
    eventClass: 'RECORD',
    module: '',
    summary: 'Recording of a call stopped.',
    fields: ['GLOBALCALLID', 'DEVICEID', 'DEVICEALIAS', 'GATE', 'ANI', 'DNIS', 'AGENTID', ...users(1, 5), 'KEEPDAYS', 'RECORDID', 'COREIDENT'],
  },
  {
    type: 'RECORDINGUPDATE',
    eventClass: 'RECORD',
    module: '',
    summary: 'A recording was saved to the database.',
    fields: ['GLOBALCALLID', 'DEVICEID', 'KEEPDAYS', 'FILENAME', 'RECORDID', 'COREIDENT'],
  },
  { type: 'RECORDINGPAUSED', eventClass: 'RECORD', module: 'Api', summary: 'Recording of a call paused.', fields: recordingFields },
  { type: 'RECORDINGRESUMED', eventClass: 'RECORD', module: 'Api', summary: 'Recording of a call resumed after a pause.', fields: recordingFields },
];

const byType = new Map(eventSpecs.map((spec) => [spec.type, spec]));

export function findEventSpec(type: string): EventSpec | undefined {
  return byType.get(type.trim().toUpperCase());
}

/** EVENTCLASS values of an EVENTS subscription. */
export const subscriptionClasses = ['ALL', 'CALL', 'RECORD'] as const;
export type SubscriptionClass = (typeof subscriptionClasses)[number];
