import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Checks a CloudFormation template against the CloudFormation resource
 * specification that @aws-cdk/cfnspec publishes (spec/specification.json):
 * resource types, properties (known, required, primitive types of literal
 * values), references (Ref, Fn::GetAtt, Fn::Sub, Fn::If conditions), outputs,
 * parameter defaults, and the shape of IAM policy documents. Answers the
 * problems found, each naming where; none means valid.
 */

interface PropertySpec {
  Required?: boolean;
  PrimitiveType?: string;
  Type?: string;
  ItemType?: string;
  PrimitiveItemType?: string;
}
interface ResourceSpec {
  Properties?: Record<string, PropertySpec>;
  Attributes?: Record<string, unknown>;
}
export interface CfnSpec {
  ResourceSpecificationVersion: string;
  ResourceTypes: Record<string, ResourceSpec>;
  PropertyTypes: Record<string, { Properties?: Record<string, PropertySpec> }>;
}

export function loadCfnSpec(): CfnSpec {
  const main = createRequire(import.meta.url).resolve('@aws-cdk/cfnspec');
  return JSON.parse(readFileSync(join(dirname(main), '..', 'spec', 'specification.json'), 'utf8')) as CfnSpec;
}

type Json = Record<string, unknown>;

const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);
const TOP_LEVEL = new Set(['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters', 'Rules', 'Mappings', 'Conditions', 'Transform', 'Resources', 'Outputs']);
const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'DeletionPolicy', 'UpdateReplacePolicy', 'Condition', 'Metadata']);
const DELETION_POLICIES = new Set(['Delete', 'Retain', 'Snapshot', 'RetainExceptOnCreate']);
const PARAMETER_KEYS = new Set(['Type', 'Default', 'Description', 'AllowedPattern', 'AllowedValues', 'MinLength', 'MaxLength', 'MinValue', 'MaxValue', 'NoEcho', 'ConstraintDescription']);
const PARAMETER_TYPES = new Set(['String', 'Number', 'List<Number>', 'CommaDelimitedList']);
const CONDITION_FUNCTIONS = new Set(['Fn::Equals', 'Fn::Not', 'Fn::And', 'Fn::Or', 'Condition']);
const LOGICAL_ID = /^[A-Za-z0-9]+$/;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{Ref: …}` or `{"Fn::…": …}`: the one key of an intrinsic function. */
function intrinsicName(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::') || keys[0] === 'Condition') ? keys[0] : undefined;
}

export function validateTemplate(template: Json, spec: CfnSpec): string[] {
  const problems: string[] = [];
  const problem = (where: string, what: string): void => {
    problems.push(`${where}: ${what}`);
  };
  const parameters = isObject(template.Parameters) ? template.Parameters : {};
  const resources = isObject(template.Resources) ? template.Resources : {};
  const conditions = isObject(template.Conditions) ? template.Conditions : {};

  for (const key of Object.keys(template)) if (!TOP_LEVEL.has(key)) problem(key, 'not a template section');
  if (template.AWSTemplateFormatVersion !== undefined && template.AWSTemplateFormatVersion !== '2010-09-09') problem('AWSTemplateFormatVersion', 'must be "2010-09-09"');
  if (template.Description !== undefined && (typeof template.Description !== 'string' || template.Description.length > 1024)) problem('Description', 'a string of at most 1024 characters');
  if (Object.keys(resources).length === 0) problem('Resources', 'a template needs at least one resource');

  const resourceType = (id: string): string | undefined => (isObject(resources[id]) ? (resources[id] as Json).Type as string : undefined);

  function checkRef(where: string, target: unknown): void {
    if (typeof target !== 'string') return problem(where, 'Ref takes a name');
    if (!PSEUDO_PARAMETERS.has(target) && !(target in parameters) && !(target in resources)) problem(where, `Ref to "${target}": no such parameter, resource or pseudo parameter`);
  }
  function checkGetAtt(where: string, resource: string, attribute: string): void {
    const type = resourceType(resource);
    if (type === undefined) return problem(where, `Fn::GetAtt on "${resource}": no such resource`);
    const attributes = spec.ResourceTypes[type]?.Attributes ?? {};
    if (!(attribute in attributes)) problem(where, `Fn::GetAtt ${resource}.${attribute}: ${type} has no attribute "${attribute}" (has: ${Object.keys(attributes).join(', ')})`);
  }

  /** Every intrinsic function anywhere under `value`, checked for what it names. */
  function walk(where: string, value: unknown, inCondition = false): void {
    if (Array.isArray(value)) return value.forEach((v, i) => walk(`${where}[${i}]`, v, inCondition));
    if (!isObject(value)) return;
    const fn = intrinsicName(value);
    if (fn === undefined) {
      for (const [k, v] of Object.entries(value)) walk(`${where}.${k}`, v, inCondition);
      return;
    }
    const arg = value[fn];
    const at = `${where}.${fn}`;
    switch (fn) {
      case 'Ref':
        return checkRef(at, arg);
      case 'Fn::GetAtt': {
        const [resource, attribute] = typeof arg === 'string' ? arg.split(/\.(.*)/) : Array.isArray(arg) ? arg : [];
        if (typeof resource !== 'string' || typeof attribute !== 'string') return problem(at, 'expected [resource, attribute]');
        return checkGetAtt(at, resource, attribute);
      }
      case 'Fn::Sub': {
        const [text, vars] = typeof arg === 'string' ? [arg, {}] : Array.isArray(arg) ? arg : [undefined, undefined];
        if (typeof text !== 'string' || !isObject(vars)) return problem(at, 'expected a string or [string, {variables}]');
        for (const m of text.matchAll(/\$\{([^}]*)\}/g)) {
          const name = m[1]!;
          if (name.startsWith('!') || name in vars) continue;
          const dot = name.indexOf('.');
          if (dot > 0 && !name.startsWith('AWS::')) checkGetAtt(at, name.slice(0, dot), name.slice(dot + 1));
          else checkRef(at, name);
        }
        return walk(at, vars, inCondition);
      }
      case 'Fn::If': {
        if (!Array.isArray(arg) || arg.length !== 3 || typeof arg[0] !== 'string') return problem(at, 'expected [condition, then, else]');
        if (!(arg[0] in conditions)) problem(at, `condition "${arg[0]}" is not in Conditions`);
        return walk(at, arg.slice(1), inCondition);
      }
      case 'Condition':
        if (typeof arg !== 'string' || !(arg in conditions)) problem(at, `condition "${String(arg)}" is not in Conditions`);
        return;
      case 'Fn::Equals':
      case 'Fn::Not':
      case 'Fn::And':
      case 'Fn::Or':
        if (!inCondition) problem(at, `${fn} belongs in Conditions`);
        if (!Array.isArray(arg)) return problem(at, 'expected a list');
        return walk(at, arg, inCondition);
      case 'Fn::Join':
      case 'Fn::Select':
      case 'Fn::Split':
      case 'Fn::FindInMap':
      case 'Fn::GetAZs':
      case 'Fn::Base64':
      case 'Fn::Cidr':
      case 'Fn::ImportValue':
        return walk(at, arg, inCondition);
      default:
        return problem(at, `unknown intrinsic function ${fn}`);
    }
  }

  function checkValue(where: string, value: unknown, p: PropertySpec, resourceTypeName: string): void {
    const fn = intrinsicName(value);
    if (fn === 'Fn::If' && Array.isArray((value as Json)[fn])) {
      // Either branch becomes the value; AWS::NoValue removes the property.
      for (const branch of ((value as Json)[fn] as unknown[]).slice(1)) {
        if (!(isObject(branch) && branch.Ref === 'AWS::NoValue')) checkValue(where, branch, p, resourceTypeName);
      }
      return;
    }
    // The value is computed at deploy time; its references were checked by walk.
    if (fn !== undefined) return;
    if (p.PrimitiveType !== undefined) return checkPrimitive(where, value, p.PrimitiveType);
    if (p.Type === 'List') {
      if (!Array.isArray(value)) return problem(where, 'expected a list');
      return value.forEach((item, i) => checkItem(`${where}[${i}]`, item, p, resourceTypeName));
    }
    if (p.Type === 'Map') {
      if (!isObject(value)) return problem(where, 'expected a map');
      return Object.entries(value).forEach(([k, item]) => checkItem(`${where}.${k}`, item, p, resourceTypeName));
    }
    if (p.Type !== undefined) return checkPropertyType(where, value, p.Type, resourceTypeName);
    problem(where, 'the specification gives this property no type');
  }

  function checkItem(where: string, item: unknown, p: PropertySpec, resourceTypeName: string): void {
    if (intrinsicName(item) !== undefined) return;
    if (p.PrimitiveItemType !== undefined) return checkPrimitive(where, item, p.PrimitiveItemType);
    if (p.ItemType !== undefined) return checkPropertyType(where, item, p.ItemType, resourceTypeName);
  }

  function checkPropertyType(where: string, value: unknown, type: string, resourceTypeName: string): void {
    const def = spec.PropertyTypes[`${resourceTypeName}.${type}`] ?? spec.PropertyTypes[type];
    if (def === undefined) return problem(where, `property type ${resourceTypeName}.${type} is not in the specification`);
    if (!isObject(value)) return problem(where, `expected an object (${type})`);
    checkProperties(where, value, def.Properties ?? {}, resourceTypeName);
  }

  function checkPrimitive(where: string, value: unknown, type: string): void {
    const ok =
      type === 'String' || type === 'Timestamp'
        ? typeof value === 'string'
        : type === 'Integer' || type === 'Long'
          ? Number.isInteger(typeof value === 'string' ? Number(value) : value)
          : type === 'Double'
            ? typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
            : type === 'Boolean'
              ? typeof value === 'boolean' || value === 'true' || value === 'false'
              : type === 'Json'
                ? isObject(value) || typeof value === 'string'
                : false;
    if (!ok) problem(where, `expected ${type}, got ${JSON.stringify(value)}`);
  }

  function checkProperties(where: string, props: Json, specs: Record<string, PropertySpec>, resourceTypeName: string): void {
    for (const [name, value] of Object.entries(props)) {
      const p = specs[name];
      if (p === undefined) {
        problem(`${where}.${name}`, `not a property of ${resourceTypeName} here (known: ${Object.keys(specs).join(', ')})`);
        continue;
      }
      checkValue(`${where}.${name}`, value, p, resourceTypeName);
    }
    for (const [name, p] of Object.entries(specs)) if (p.Required && !(name in props)) problem(`${where}.${name}`, 'required by the specification, missing');
  }

  for (const [id, def] of Object.entries(parameters)) {
    const where = `Parameters.${id}`;
    if (!LOGICAL_ID.test(id)) problem(where, 'logical ids are alphanumeric');
    if (!isObject(def)) {
      problem(where, 'expected an object');
      continue;
    }
    for (const key of Object.keys(def)) if (!PARAMETER_KEYS.has(key)) problem(`${where}.${key}`, 'not a parameter attribute');
    const type = def.Type;
    if (typeof type !== 'string' || !(PARAMETER_TYPES.has(type) || type.startsWith('AWS::') || type.startsWith('List<AWS::'))) problem(`${where}.Type`, `not a parameter type: ${String(type)}`);
    if (def.Default !== undefined) checkDefault(where, def, problem);
  }

  for (const [id, condition] of Object.entries(conditions)) {
    if (!LOGICAL_ID.test(id)) problem(`Conditions.${id}`, 'logical ids are alphanumeric');
    const fn = intrinsicName(condition);
    if (fn === undefined || !CONDITION_FUNCTIONS.has(fn)) problem(`Conditions.${id}`, 'expected Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition');
    walk(`Conditions.${id}`, condition, true);
  }

  for (const [id, resource] of Object.entries(resources)) {
    const where = `Resources.${id}`;
    if (!LOGICAL_ID.test(id)) problem(where, 'logical ids are alphanumeric');
    if (!isObject(resource)) {
      problem(where, 'expected an object');
      continue;
    }
    for (const key of Object.keys(resource)) if (!RESOURCE_KEYS.has(key)) problem(`${where}.${key}`, 'not a resource attribute');
    for (const key of ['DeletionPolicy', 'UpdateReplacePolicy']) {
      if (resource[key] !== undefined && !DELETION_POLICIES.has(resource[key] as string)) problem(`${where}.${key}`, `not a policy: ${String(resource[key])}`);
    }
    const type = resource.Type as string;
    const resourceSpec = spec.ResourceTypes[type];
    if (resourceSpec === undefined) {
      problem(`${where}.Type`, `${String(type)} is not a resource type of the specification`);
      continue;
    }
    const props = resource.Properties ?? {};
    if (!isObject(props)) problem(`${where}.Properties`, 'expected an object');
    else checkProperties(`${where}.Properties`, props, resourceSpec.Properties ?? {}, type);
    walk(where, resource);
  }

  const outputs = template.Outputs;
  if (outputs !== undefined) {
    if (!isObject(outputs)) problem('Outputs', 'expected an object');
    else {
      for (const [id, output] of Object.entries(outputs)) {
        const where = `Outputs.${id}`;
        if (!LOGICAL_ID.test(id)) problem(where, 'logical ids are alphanumeric');
        if (!isObject(output) || output.Value === undefined) {
          problem(where, 'an output needs a Value');
          continue;
        }
        for (const key of Object.keys(output)) if (!['Value', 'Description', 'Export', 'Condition'].includes(key)) problem(`${where}.${key}`, 'not an output attribute');
        walk(where, output);
      }
    }
  }
  return problems;
}

function checkDefault(where: string, def: Json, problem: (where: string, what: string) => void): void {
  const value = String(def.Default);
  if (typeof def.AllowedPattern === 'string' && !new RegExp(`^(?:${def.AllowedPattern})$`).test(value)) problem(`${where}.Default`, `"${value}" does not match AllowedPattern`);
  if (Array.isArray(def.AllowedValues) && !def.AllowedValues.map(String).includes(value)) problem(`${where}.Default`, `"${value}" is not one of AllowedValues`);
  if (def.Type === 'Number') {
    const n = Number(value);
    if (!Number.isFinite(n)) problem(`${where}.Default`, 'not a number');
    if (typeof def.MinValue === 'number' && n < def.MinValue) problem(`${where}.Default`, 'below MinValue');
    if (typeof def.MaxValue === 'number' && n > def.MaxValue) problem(`${where}.Default`, 'above MaxValue');
  }
}

export interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/**
 * An IAM policy document's shape: Version 2012-10-17, a non-empty Statement,
 * each with Effect Allow|Deny and service:Action actions; identity policies
 * name Resources and no Principal, trust and resource policies name a Principal.
 */
export function validatePolicy(where: string, doc: unknown, kind: 'identity' | 'trust' | 'resource'): string[] {
  const problems: string[] = [];
  const problem = (what: string): void => {
    problems.push(`${where}: ${what}`);
  };
  if (!isObject(doc)) return [`${where}: expected a policy document object`];
  for (const key of Object.keys(doc)) if (!['Version', 'Id', 'Statement'].includes(key)) problem(`"${key}" is not a policy element`);
  if (doc.Version !== '2012-10-17') problem('Version must be "2012-10-17"');
  const statements = Array.isArray(doc.Statement) ? doc.Statement : isObject(doc.Statement) ? [doc.Statement] : [];
  if (statements.length === 0) problem('Statement must be a non-empty list');
  for (const [i, s] of statements.entries()) {
    const at = `Statement[${i}]`;
    if (!isObject(s)) {
      problem(`${at} is not an object`);
      continue;
    }
    for (const key of Object.keys(s)) if (!['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'].includes(key)) problem(`${at}.${key} is not a statement element`);
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') problem(`${at}.Effect must be Allow or Deny`);
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
    if (actions.length === 0 || actions.some((a) => typeof a !== 'string' || !/^([a-z0-9-]+:[A-Za-z0-9*]+|\*)$/.test(a))) problem(`${at}.Action must be service:Action names`);
    if (kind === 'identity') {
      if (s.Principal !== undefined) problem(`${at}: an identity policy names no Principal`);
      if (s.Resource === undefined) problem(`${at}.Resource is required`);
    } else if (s.Principal === undefined) {
      problem(`${at}.Principal is required in a ${kind} policy`);
    }
    if (s.Condition !== undefined && !(isObject(s.Condition) && Object.values(s.Condition).every(isObject))) problem(`${at}.Condition must map operators to {key: value}`);
  }
  return problems;
}
