/**
 * The JSON name of an XML element or parameter: DEVICEID is `deviceId`, SYS_USER `sysUser`, USER9
 * `user9`, LASTSTATECHANGEUNIXTIME `lastStateChangeUnixTime`. The core writes names as upper-case
 * words run together, so they are split with the vocabulary below (fewest words wins); a name the
 * vocabulary cannot split is simply lower-cased, so an element the catalog does not know still gets
 * a stable name. The REST surface, its schemas and the event stream all name fields through here.
 */

/** The words the XML API's names are made of, lower-case. */
const words: ReadonlySet<string> = new Set(
  `
  action add address agent alias allow ani application archive barge call capacity change channel channels
  class code computer copy core count crm cti data date days description device devices direction disk
  domain duplicate duration email employee encrypt end error event extension field file first format free
  from gate global group id ident if info initiated instance ip is keep key last link location max media
  message mobile mod mode msg name not number offset password path pct permission phone phones playback
  priority processor ram reason record recording recordings request result role search session settings
  silence site space speed start state station stations status stop sys system terminology time title to
  total trunk type unique unix update uptime used user username users value video
  `
    .split(/\s+/)
    .filter(Boolean),
);

const cache = new Map<string, string>();

/** Split one run of letters and digits into words; undefined when the vocabulary cannot. */
function splitWords(part: string): string[] | undefined {
  // best[i]: the fewest words covering part[0..i), with the split that achieves it.
  const best: (string[] | undefined)[] = [[]];
  for (let end = 1; end <= part.length; end++) {
    let choice: string[] | undefined;
    for (let start = 0; start < end; start++) {
      const before = best[start];
      if (!before) continue;
      const piece = part.slice(start, end);
      // A run of digits belongs to the word before it (USER15, PROCESSOR0).
      const fits = /^[0-9]+$/.test(piece) ? before.length > 0 : words.has(piece);
      if (!fits) continue;
      const candidate = /^[0-9]+$/.test(piece) ? [...before.slice(0, -1), before[before.length - 1]! + piece] : [...before, piece];
      if (!choice || candidate.length < choice.length) choice = candidate;
    }
    best[end] = choice;
  }
  return best[part.length];
}

export function jsonName(wireName: string): string {
  const known = cache.get(wireName);
  if (known !== undefined) return known;
  const parts = wireName.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  const pieces = parts.flatMap((part) => splitWords(part) ?? [part]);
  const name = pieces.map((piece, i) => (i === 0 ? piece : piece[0]!.toUpperCase() + piece.slice(1))).join('');
  if (cache.size < 10_000) cache.set(wireName, name);
  return name;
}
