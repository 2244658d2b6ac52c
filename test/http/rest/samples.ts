/** Requests that satisfy the catalog's rules for each command: what table-driven tests send. */
import type { CommandSpec, ParamSpec } from '../../../src/protocol/catalog.js';

/** A value a parameter accepts. */
export function sampleValue(param: ParamSpec): string {
  if (param.list) return '10121967,10121968';
  switch (param.type) {
    case 'int32':
    case 'int64':
      return '1';
    case 'flag':
      return 'Y';
    case 'enum':
      return param.values![0]!;
    case 'text':
      return param.name === 'UNIQUEFIELD' ? 'ident' : `${param.name.toLowerCase()}-1`.slice(0, param.maxLength ?? 255);
  }
}

/** Parameters that satisfy a command's rules, as XML names and text. */
export function sampleParams(spec: CommandSpec): [string, string][] {
  const names = new Set([...spec.required, ...spec.atLeastOneOf.map((group) => group[0]!)]);
  return spec.params.filter((p) => names.has(p.name)).map((p) => [p.name, sampleValue(p)]);
}
