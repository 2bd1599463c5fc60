/**
 * A validator compiled from the raw OCSF source schema (the ocsf-schema
 * repository's events/, objects/, includes/, profiles/ and dictionary.json).
 * No npm package validates events against that source tree, so this resolves
 * it the way the OCSF server does: `extends` chains, `$include`d includes and
 * profiles, attribute definitions merged over the dictionary's, the
 * dictionary's types with their regex / range / length limits, enums with
 * their sibling captions, requirements and the `at_least_one` / `just_one`
 * constraints.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Problem {
  severity: 'error' | 'warning';
  /** JSON path of the attribute (`src_endpoint.domain`, `observables[0].name`); `(event)` for the event itself. */
  path: string;
  message: string;
}

/** `src_endpoint.domain: not a hostname_t (…)`, the form tests compare. */
export function problemText(p: Problem): string {
  return `${p.path}: ${p.message}`;
}

export interface OcsfSchema {
  /** Every problem of the event: errors break the schema, warnings are deprecated or inconsistent use. */
  validate(event: unknown): Problem[];
}

type Json = Record<string, any>;
type Requirement = 'required' | 'recommended' | 'optional';

/** What a dictionary type allows, its `type` chain followed to a base type. */
interface ValueType {
  name: string;
  base: 'string_t' | 'integer_t' | 'long_t' | 'float_t' | 'boolean_t' | 'json_t';
  regexes: RegExp[];
  maxLen?: number;
  range?: [number, number];
}

interface Attribute {
  name: string;
  requirement: Requirement;
  isArray: boolean;
  /** A dictionary type, or else the object the value is. */
  valueType?: ValueType;
  objectName?: string;
  enum?: ReadonlyMap<string, string>;
  sibling?: string;
  /** The profile that brings the attribute; it only counts when metadata.profiles lists it. */
  profile?: string;
  deprecated?: string;
}

interface Shape {
  name: string;
  caption: string;
  attributes: ReadonlyMap<string, Attribute>;
  atLeastOne?: readonly string[];
  justOne?: readonly string[];
  deprecated?: string;
}

interface EventClass extends Shape {
  uid: number;
  categoryUid: number;
}

const BASE_TYPES = new Set(['string_t', 'integer_t', 'long_t', 'float_t', 'boolean_t', 'json_t']);
const INT32: [number, number] = [-(2 ** 31), 2 ** 31 - 1];
/** The enum id every OCSF enum reserves for "the source's own value": its sibling then holds any text. */
const OTHER = '99';

function readJson(path: string): Json {
  return JSON.parse(readFileSync(path, 'utf8')) as Json;
}

function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return jsonFiles(path);
    return d.name.endsWith('.json') ? [path] : [];
  });
}

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge as the schema's inheritance does it: later definitions win key by key, enums are unions. */
function merge(base: Json | undefined, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlainObject(v) && isPlainObject(out[k]) ? merge(out[k], v) : v;
  return out;
}

function deprecation(def: Json): string | undefined {
  const d = def['@deprecated'];
  return isPlainObject(d) ? `deprecated since ${d.since}: ${String(d.message).replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim()}` : undefined;
}

/**
 * The official schema (`schema-1.1.0/`) and example events (`examples/`) in
 * `dir`, or why they cannot be used: they live beside the repository, not in
 * it, so a checkout without them skips the tests that need them.
 */
export function officialOcsf(dir: string): { schema: OcsfSchema; examplesDir: string } | { skip: string } {
  const schemaDir = join(dir, 'schema-1.1.0');
  if (!existsSync(join(schemaDir, 'dictionary.json'))) return { skip: `the official OCSF 1.1.0 schema is not at ${schemaDir}` };
  return { schema: loadOcsfSchema(schemaDir), examplesDir: join(dir, 'examples') };
}

/** Reads the source schema in `dir` (the ocsf-schema repository's root at a release tag). */
export function loadOcsfSchema(dir: string): OcsfSchema {
  const dictionary = readJson(join(dir, 'dictionary.json'));
  const dictAttributes: Json = dictionary.attributes;
  const dictTypes: Json = dictionary.types.attributes;
  const categories: Json = readJson(join(dir, 'categories.json')).attributes;

  const valueTypes = new Map<string, ValueType>();
  function valueType(name: string): ValueType {
    const known = valueTypes.get(name);
    if (known) return known;
    const def = dictTypes[name];
    if (!isPlainObject(def)) throw new Error(`dictionary.json: unknown type ${name}`);
    const parent = BASE_TYPES.has(name) ? undefined : valueType(def.type);
    const t: ValueType = {
      name,
      base: parent?.base ?? (name as ValueType['base']),
      regexes: [...(parent?.regexes ?? []), ...(def.regex ? [new RegExp(def.regex)] : [])],
    };
    const maxLen = def.max_len ?? parent?.maxLen;
    if (maxLen !== undefined) t.maxLen = maxLen;
    const range = def.range ?? parent?.range ?? (t.base === 'integer_t' ? INT32 : undefined);
    if (range !== undefined) t.range = range;
    valueTypes.set(name, t);
    return t;
  }

  const rawObjects = new Map<string, Json>();
  for (const f of jsonFiles(join(dir, 'objects'))) {
    const o = readJson(f);
    rawObjects.set(o.name, o);
  }
  const rawEvents = new Map<string, Json>();
  for (const f of jsonFiles(join(dir, 'events'))) {
    const e = readJson(f);
    rawEvents.set(e.name, e);
  }

  /** The attribute entries of a class or object: its parents', its `$include`s', then its own. */
  function definedAttributes(def: Json, family: Map<string, Json>, seen: string[] = []): Json {
    if (seen.includes(def.name)) throw new Error(`${def.name}: extends itself through ${seen.join(' → ')}`);
    const parent = def.extends === undefined ? undefined : family.get(def.extends);
    if (def.extends !== undefined && parent === undefined && def.extends !== 'object') throw new Error(`${def.name}: extends unknown ${def.extends}`);
    let attrs: Json = parent ? definedAttributes(parent, family, [...seen, def.name]) : {};
    const { $include, ...own } = (def.attributes ?? {}) as Json;
    for (const path of ($include ?? []) as string[]) {
      const included = readJson(join(dir, path));
      const profile = path.startsWith('profiles/') ? (included.name as string) : undefined;
      for (const [name, entry] of Object.entries(included.attributes as Json)) {
        attrs = merge(attrs, { [name]: profile === undefined ? entry : { profile, ...entry } });
      }
    }
    return merge(attrs, own);
  }

  function compileAttribute(name: string, entry: Json, owner: string): Attribute {
    const dict = dictAttributes[name];
    if (!isPlainObject(dict)) throw new Error(`${owner}.${name}: not in dictionary.json`);
    const def = merge(dict, entry);
    const a: Attribute = { name, requirement: def.requirement ?? 'optional', isArray: def.is_array === true };
    if (String(def.type).endsWith('_t')) a.valueType = valueType(def.type);
    else a.objectName = def.type;
    if (isPlainObject(def.enum)) a.enum = new Map(Object.entries(def.enum as Json).map(([k, v]) => [k, String(v.caption)]));
    if (typeof def.sibling === 'string') a.sibling = def.sibling;
    if (typeof def.profile === 'string') a.profile = def.profile;
    const deprecated = deprecation(def);
    if (deprecated !== undefined) a.deprecated = deprecated;
    return a;
  }

  function compileShape(def: Json, family: Map<string, Json>): Shape {
    const attributes = new Map<string, Attribute>();
    for (const [name, entry] of Object.entries(definedAttributes(def, family))) attributes.set(name, compileAttribute(name, entry, def.name));
    // The datetime profile is synthetic: every timestamp attribute gets an RFC 3339 twin named <attribute>_dt.
    for (const a of [...attributes.values()]) {
      if (a.valueType?.name === 'timestamp_t' && !attributes.has(`${a.name}_dt`)) {
        attributes.set(`${a.name}_dt`, { name: `${a.name}_dt`, requirement: 'optional', isArray: a.isArray, valueType: valueType('datetime_t'), profile: 'datetime' });
      }
    }
    const constraints = inherited(def, family, 'constraints') as Json | undefined;
    const shape: Shape = { name: def.name, caption: def.caption, attributes };
    if (constraints?.at_least_one) shape.atLeastOne = constraints.at_least_one;
    if (constraints?.just_one) shape.justOne = constraints.just_one;
    const deprecated = deprecation(def);
    if (deprecated !== undefined) shape.deprecated = deprecated;
    return shape;
  }

  function inherited(def: Json, family: Map<string, Json>, key: string): unknown {
    if (def[key] !== undefined) return def[key];
    const parent = def.extends === undefined ? undefined : family.get(def.extends);
    return parent ? inherited(parent, family, key) : undefined;
  }

  const objects = new Map<string, Shape>();
  for (const [name, def] of rawObjects) if (!name.startsWith('_')) objects.set(name, compileShape(def, rawObjects));
  // Observable type ids are the `observable` numbers the dictionary's types and the objects declare.
  const observable = objects.get('observable')!;
  const observableIds = new Map(observable.attributes.get('type_id')!.enum);
  for (const t of Object.values(dictTypes)) if (t.observable !== undefined) observableIds.set(String(t.observable), String(t.caption));
  for (const o of rawObjects.values()) if (o.observable !== undefined) observableIds.set(String(o.observable), String(o.caption));
  const observableAttributes = new Map(observable.attributes);
  observableAttributes.set('type_id', { ...observableAttributes.get('type_id')!, enum: observableIds });
  objects.set('observable', { ...observable, attributes: observableAttributes });

  const classes = new Map<number, EventClass>();
  for (const def of rawEvents.values()) {
    // Category events (iam, network …) have no uid: they are parents, not classes an event can be.
    if (def.uid === undefined && def.name !== 'base_event') continue;
    const categoryName = inherited(def, rawEvents, 'category') as string;
    const category = categories[categoryName] as Json | undefined;
    const categoryUid: number = category?.uid ?? 0;
    const uid = categoryUid * 1000 + (def.uid ?? 0);
    const shape = compileShape(def, rawEvents);
    const attributes = new Map(shape.attributes);
    const activities = attributes.get('activity_id')!.enum!;
    // class_uid, category_uid and type_uid enumerate this class only; the dictionary's lists are Base Event's.
    const withEnum = (name: string, entries: [string, string][]) => attributes.set(name, { ...attributes.get(name)!, enum: new Map(entries) });
    withEnum('class_uid', [[String(uid), shape.caption]]);
    withEnum('category_uid', [[String(categoryUid), category?.caption ?? 'Uncategorized']]);
    withEnum('type_uid', [...activities].map(([id, caption]) => [String(uid * 100 + Number(id)), `${shape.caption}: ${caption}`]));
    classes.set(uid, { ...shape, attributes, uid, categoryUid });
  }

  return { validate: (event) => validateEvent(event, classes, objects) };
}

interface Context {
  objects: ReadonlyMap<string, Shape>;
  profiles: ReadonlySet<string>;
  problems: Problem[];
}

function validateEvent(event: unknown, classes: ReadonlyMap<number, EventClass>, objects: ReadonlyMap<string, Shape>): Problem[] {
  const problems: Problem[] = [];
  if (!isPlainObject(event)) return [{ severity: 'error', path: '(event)', message: `expected a JSON object, got ${describe(event)}` }];
  const cls = typeof event.class_uid === 'number' ? classes.get(event.class_uid) : undefined;
  if (cls === undefined) {
    const message = event.class_uid === undefined ? 'required' : `${JSON.stringify(event.class_uid)} is not a class of the schema`;
    return [{ severity: 'error', path: 'class_uid', message }];
  }
  const listed: unknown = isPlainObject(event.metadata) ? event.metadata.profiles : undefined;
  const profiles = new Set(Array.isArray(listed) ? listed.filter((p): p is string => typeof p === 'string') : []);
  const ctx: Context = { objects, profiles, problems };
  if (cls.deprecated) problems.push({ severity: 'warning', path: 'class_uid', message: `${cls.caption}: ${cls.deprecated}` });
  checkShape(cls, event, '', ctx);
  const { type_uid: typeUid, activity_id: activityId } = event;
  if (typeof typeUid === 'number' && typeof activityId === 'number' && typeUid !== cls.uid * 100 + activityId) {
    problems.push({ severity: 'error', path: 'type_uid', message: `${typeUid} is not class_uid × 100 + activity_id (${cls.uid * 100 + activityId})` });
  }
  return problems;
}

function childPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function checkShape(shape: Shape, value: Json, path: string, ctx: Context): void {
  const here = path === '' ? '(event)' : path;
  for (const [key, v] of Object.entries(value)) {
    const p = childPath(path, key);
    const attr = shape.attributes.get(key);
    if (attr === undefined) {
      ctx.problems.push({ severity: 'error', path: p, message: `not an attribute of ${shape.caption} (${shape.name})` });
      continue;
    }
    if (attr.profile !== undefined && !ctx.profiles.has(attr.profile)) {
      ctx.problems.push({ severity: 'warning', path: p, message: `belongs to the ${attr.profile} profile, which metadata.profiles does not list` });
    }
    if (attr.deprecated) ctx.problems.push({ severity: 'warning', path: p, message: attr.deprecated });
    checkValue(attr, v, p, ctx);
  }
  for (const attr of shape.attributes.values()) {
    const outOfProfile = attr.profile !== undefined && !ctx.profiles.has(attr.profile);
    if (attr.requirement === 'required' && !outOfProfile && value[attr.name] === undefined) {
      ctx.problems.push({ severity: 'error', path: childPath(path, attr.name), message: 'required' });
    }
    if (attr.enum && attr.sibling) checkSibling(attr, value, path, ctx);
  }
  const present = (names: readonly string[]) => names.filter((n) => valueAt(value, n) !== undefined && valueAt(value, n) !== null);
  if (shape.atLeastOne && present(shape.atLeastOne).length === 0) {
    ctx.problems.push({ severity: 'error', path: here, message: `${shape.caption} needs at least one of ${shape.atLeastOne.join(', ')}` });
  }
  if (shape.justOne && present(shape.justOne).length !== 1) {
    ctx.problems.push({ severity: 'error', path: here, message: `${shape.caption} needs exactly one of ${shape.justOne.join(', ')}` });
  }
}

/** `device.os.sp_name`: constraints may name attributes of nested objects. */
function valueAt(value: Json, dotted: string): unknown {
  let v: unknown = value;
  for (const k of dotted.split('.')) v = isPlainObject(v) ? v[k] : undefined;
  return v;
}

/** An enum id's sibling (`activity_id` → `activity_name`) is its caption, except for Other (99), where it is the source's own text. */
function checkSibling(attr: Attribute, value: Json, path: string, ctx: Context): void {
  const id = value[attr.name];
  const text = value[attr.sibling!];
  if (id === undefined || id === null || typeof text !== 'string' || String(id) === OTHER) return;
  const caption = attr.enum!.get(String(id));
  if (caption !== undefined && caption !== text) {
    ctx.problems.push({ severity: 'warning', path: childPath(path, attr.sibling!), message: `"${text}" is not the caption of ${attr.name} ${String(id)} ("${caption}")` });
  }
}

function checkValue(attr: Attribute, v: unknown, path: string, ctx: Context): void {
  if (!attr.isArray) {
    if (Array.isArray(v)) ctx.problems.push({ severity: 'error', path, message: `expected ${typeLabel(attr)}, got an array` });
    else checkOne(attr, v, path, ctx);
    return;
  }
  if (!Array.isArray(v)) {
    ctx.problems.push({ severity: 'error', path, message: `expected an array, each ${typeLabel(attr)}, got ${describe(v)}` });
    return;
  }
  v.forEach((el, i) => checkOne(attr, el, `${path}[${i}]`, ctx));
}

function checkOne(attr: Attribute, v: unknown, path: string, ctx: Context): void {
  const fail = (message: string) => ctx.problems.push({ severity: 'error', path, message });
  if (attr.objectName !== undefined) {
    if (!isPlainObject(v)) return void fail(`expected ${typeLabel(attr)}, got ${describe(v)}`);
    // `object` is the schema's free-form object (unmapped and the like): any members.
    if (attr.objectName === 'object') return;
    const shape = ctx.objects.get(attr.objectName);
    if (shape === undefined) return void fail(`type ${attr.objectName} is not an object of the schema`);
    if (shape.deprecated) ctx.problems.push({ severity: 'warning', path, message: `${shape.caption}: ${shape.deprecated}` });
    checkShape(shape, v, path, ctx);
    return;
  }
  const t = attr.valueType!;
  if (!hasBaseType(t, v)) return void fail(`expected ${typeLabel(attr)}, got ${describe(v)}`);
  if (typeof v === 'string') {
    if (t.maxLen !== undefined && v.length > t.maxLen) return void fail(`longer than ${t.maxLen} characters (${t.name})`);
    if (!t.regexes.every((r) => r.test(v))) return void fail(`not ${typeLabel(attr)}: ${JSON.stringify(v)}`);
  }
  if (typeof v === 'number' && t.range && (v < t.range[0] || v > t.range[1])) return void fail(`${v} is outside ${t.name}'s range ${t.range[0]}..${t.range[1]}`);
  if (attr.enum && !attr.enum.has(String(v))) fail(`${JSON.stringify(v)} is not one of ${attr.name}'s values (${[...attr.enum.keys()].join(', ')})`);
}

function hasBaseType(t: ValueType, v: unknown): boolean {
  switch (t.base) {
    case 'json_t':
      return v !== undefined;
    case 'string_t':
      return typeof v === 'string';
    case 'integer_t':
    case 'long_t':
      return Number.isInteger(v);
    case 'float_t':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean_t':
      return typeof v === 'boolean';
  }
}

/** `a string_t`, `an ip_t`, `an observable object` (`u…` types read "you": `a url_t`). */
function typeLabel(attr: Attribute): string {
  const name = attr.objectName !== undefined ? `${attr.objectName} object` : attr.valueType!.name;
  return `${/^[aeio]/.test(name) ? 'an' : 'a'} ${name}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}
