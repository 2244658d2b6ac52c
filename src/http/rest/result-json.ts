/**
 * The core's RESULT as JSON, shaped by the catalog: element names through jsonName(), the paths the
 * catalog lists as repeating are arrays (empty when nothing repeats), an element that happens to
 * repeat is an array too, counts and figures are numbers, Y/N and TRUE/FALSE are booleans, and each
 * time keeps the core's text with its ISO-8601 form beside it (`startTime`, `startTimeIso`).
 * A value that does not read as its declared type stays the text the core sent: nothing is lost.
 */
import { resultFieldTypes, type CommandSpec } from '../../protocol/catalog.js';
import { jsonName } from '../../protocol/json-names.js';
import { productTimeToIso, unixTimeToIso } from '../../protocol/product-time.js';
import { resultHeaderNames, type XmlElement } from '../../protocol/xml.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

interface Shape {
  lists: ReadonlySet<string>;
  /** Root elements named by a pattern (PROCESSOR0, PROCESSOR1...), gathered under one array. */
  patterns: readonly RegExp[];
}

/**
 * A leaf as JSON under `key`, read as its declared type. A value that does not read as its type
 * stays the text the core sent (`unreadable: 'text'`, the wire model) or is null (`'null'`, the
 * resources, whose schemas promise the type).
 */
export function setLeaf(out: JsonObject, name: string, key: string, text: string, unreadable: 'text' | 'null' = 'text'): void {
  const type = resultFieldTypes.get(name);
  const value = text.trim();
  const otherwise = unreadable === 'text' ? text : null;
  switch (type) {
    case 'integer':
    case 'number': {
      const pattern = type === 'integer' ? /^-?\d{1,15}$/ : /^-?\d{1,15}(?:\.\d+)?$/;
      out[key] = value === '' ? null : pattern.test(value) ? Number(value) : otherwise;
      return;
    }
    case 'flag':
    case 'truth': {
      const [yes, no] = type === 'flag' ? ['Y', 'N'] : ['TRUE', 'FALSE'];
      const upper = value.toUpperCase();
      out[key] = value === '' ? null : upper === yes ? true : upper === no ? false : otherwise;
      return;
    }
    case 'time':
      out[key] = text;
      out[`${key}Iso`] = productTimeToIso(value) ?? null;
      return;
    case 'unix-time':
      out[key] = value === '' ? null : /^-?\d{1,12}$/.test(value) ? Number(value) : otherwise;
      out[`${key}Iso`] = unixTimeToIso(value) ?? null;
      return;
    default:
      out[key] = text;
  }
}

/** The array at `key`, made when there is none (an own property: never one of Object.prototype's). */
function listAt(out: JsonObject, key: string): JsonValue[] {
  const value = Object.hasOwn(out, key) ? out[key] : undefined;
  if (Array.isArray(value)) return value;
  const list: JsonValue[] = [];
  out[key] = list;
  return list;
}

function shapeChildren(children: readonly XmlElement[], parentPath: string, shape: Shape): JsonObject {
  const out: JsonObject = {};
  const seen = new Map<string, number>();
  for (const child of children) seen.set(child.name, (seen.get(child.name) ?? 0) + 1);
  for (const child of children) {
    const path = parentPath === '' ? child.name : `${parentPath}/${child.name}`;
    const pattern = parentPath === '' ? shape.patterns.find((p) => p.test(child.name)) : undefined;
    const value = child.children.length > 0 ? shapeChildren(child.children, path, shape) : undefined;
    if (pattern) {
      const key = `${jsonName(child.name.replace(/\d+$/, ''))}s`;
      listAt(out, key).push(value ?? child.text);
      continue;
    }
    const key = jsonName(child.name);
    if (shape.lists.has(path) || (seen.get(child.name) ?? 0) > 1) {
      const list = listAt(out, key);
      if (value) list.push(value);
      else {
        const holder: JsonObject = {};
        setLeaf(holder, child.name, 'value', child.text);
        list.push(holder['value']!);
      }
    } else if (value) out[key] = value;
    else setLeaf(out, child.name, key, child.text);
  }
  // A list the catalog declares here is an array even when the core listed nothing.
  for (const list of shape.lists) {
    const at = list.lastIndexOf('/');
    if ((at === -1 ? '' : list.slice(0, at)) !== parentPath) continue;
    const key = jsonName(list.slice(at + 1));
    listAt(out, key);
  }
  return out;
}

/** Everything of a RESULT after its header, as JSON. */
export function resultBody(root: XmlElement, spec: CommandSpec | undefined): JsonObject {
  const shape: Shape = {
    lists: new Set(spec?.result.lists ?? []),
    patterns: (spec?.result.patternLists ?? []).map((pattern) => new RegExp(`^(?:${pattern})$`)),
  };
  // The header becomes `requestId` and `result`.
  return shapeChildren(
    root.children.filter((child) => !resultHeaderNames.has(child.name)),
    '',
    shape,
  );
}
