// A form generated from a connector's JSON schema (GET /v1/data-sources/types): the server owns the
// list of fields, so a new connector type needs no UI change. The model is plain data (fields and a
// flat state keyed by dotted path) so it can be unit-tested without a DOM.

import type { JsonSchema } from "./api/types";

interface Base {
  path: string;
  name: string;
  label: string;
  description?: string;
  required: boolean;
}

export type Field =
  | (Base & {
      kind: "string";
      secret: boolean;
      multiline: boolean;
      pattern?: string;
      minLength?: number;
      default?: string;
    })
  | (Base & { kind: "enum"; options: string[]; default?: string })
  | (Base & {
      kind: "number" | "integer";
      minimum?: number;
      maximum?: number;
      exclusiveMinimum?: number;
      default?: number;
    })
  | (Base & { kind: "boolean"; default?: boolean })
  | (Base & { kind: "list"; minItems?: number })
  | (Base & { kind: "map" })
  | (Base & { kind: "json" })
  | (Base & { kind: "object"; fields: Field[] })
  | (Base & { kind: "union"; discriminator: string; options: UnionOption[]; default?: string });

export interface UnionOption {
  value: string;
  label: string;
  fields: Field[];
}

export type FormState = Record<string, string | boolean>;

const MULTILINE = /query|body|prompt|description|template/i;

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let s = schema;
  for (let i = 0; s.$ref && i < 10; i++) {
    const name = s.$ref.split("/").pop() ?? "";
    const target = root.$defs?.[name];
    if (!target) break;
    s = { ...target, ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== "$ref")) };
  }
  return s;
}

function humanize(name: string): string {
  const words = name.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Drop a `null` alternative: `anyOf: [X, {type: null}]` is an optional X. */
function unwrapNullable(schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const alts = schema.anyOf;
  if (!alts) return { schema, nullable: false };
  const rest = alts.filter((a) => a.type !== "null");
  if (rest.length === 1 && rest.length < alts.length) {
    const { anyOf: _drop, ...outer } = schema;
    void _drop;
    return { schema: { ...outer, ...rest[0] }, nullable: true };
  }
  return { schema, nullable: false };
}

function fieldFor(
  name: string,
  path: string,
  raw: JsonSchema,
  root: JsonSchema,
  required: boolean,
): Field {
  const { schema: unwrapped, nullable } = unwrapNullable(raw);
  const schema = resolve(unwrapped, root);
  const base: Base = {
    path,
    name,
    label: humanize(name),
    description: schema.description ?? raw.description,
    required: required && !nullable && raw.default === undefined,
  };
  const alts = schema.oneOf;
  if (alts && schema.discriminator) {
    const prop = schema.discriminator.propertyName;
    const options = alts.map((alt) => {
      const s = resolve(alt, root);
      const value = String(s.properties?.[prop]?.const ?? s.title ?? "");
      const inner = objectFields(s, root, path, new Set([prop]));
      return { value, label: value, fields: inner };
    });
    const first = options[0]?.value;
    return { ...base, kind: "union", discriminator: prop, options, default: first };
  }
  if (schema.enum) {
    const options = schema.enum.map(String);
    const dflt = schema.default === undefined ? undefined : String(schema.default);
    return { ...base, kind: "enum", options, default: dflt };
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === "string") {
    return {
      ...base,
      kind: "string",
      secret: schema.format === "password" || schema.writeOnly === true,
      multiline: MULTILINE.test(name),
      pattern: schema.pattern,
      minLength: schema.minLength,
      default: typeof schema.default === "string" ? schema.default : undefined,
    };
  }
  if (type === "integer" || type === "number") {
    return {
      ...base,
      kind: type,
      minimum: schema.minimum,
      maximum: schema.maximum,
      exclusiveMinimum: schema.exclusiveMinimum,
      default: typeof schema.default === "number" ? schema.default : undefined,
    };
  }
  if (type === "boolean") {
    return { ...base, kind: "boolean", default: schema.default === true };
  }
  if (type === "array" && schema.items && resolve(schema.items, root).type === "string") {
    return { ...base, kind: "list", minItems: schema.minItems };
  }
  if (type === "object" && schema.properties) {
    return { ...base, kind: "object", fields: objectFields(schema, root, path) };
  }
  if (type === "object" && schema.additionalProperties && !schema.properties) {
    const values = schema.additionalProperties;
    const scalar = values === true || (typeof values === "object" && !isStructured(values, root));
    if (scalar) return { ...base, kind: "map" };
  }
  return { ...base, kind: "json" };
}

function isStructured(schema: JsonSchema, root: JsonSchema): boolean {
  const s = resolve(schema, root);
  if (s.anyOf) return s.anyOf.some((a) => isStructured(a, root));
  return s.type === "object" || s.type === "array";
}

function objectFields(
  schema: JsonSchema,
  root: JsonSchema,
  prefix: string,
  skip: Set<string> = new Set(),
): Field[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {})
    .filter(([name]) => !skip.has(name))
    .map(([name, prop]) =>
      fieldFor(name, prefix ? `${prefix}.${name}` : name, prop, root, required.has(name)),
    );
}

/** The fields of a config schema, in the schema's order. */
export function fieldsOf(schema: JsonSchema): Field[] {
  return objectFields(schema, schema, "");
}

/** The form's starting state: schema defaults, empty strings elsewhere. */
export function initialState(fields: Field[], state: FormState = {}): FormState {
  for (const f of fields) {
    switch (f.kind) {
      case "boolean":
        state[f.path] = f.default ?? false;
        break;
      case "object":
        if (!f.required) state[`${f.path}.__enabled`] = false;
        initialState(f.fields, state);
        break;
      case "union":
        state[f.path] = f.default ?? "";
        for (const o of f.options) initialState(o.fields, state);
        break;
      case "number":
      case "integer":
        state[f.path] = f.default === undefined ? "" : String(f.default);
        break;
      case "string":
      case "enum":
        state[f.path] = f.default ?? "";
        break;
      default:
        state[f.path] = "";
    }
  }
  return state;
}

export interface Collected {
  value: Record<string, unknown>;
  errors: Record<string, string>;
}

function text(state: FormState, path: string): string {
  const v = state[path];
  return typeof v === "string" ? v.trim() : "";
}

/** Turn the form state into the config object, checking what the schema lets us check here. */
export function collect(fields: Field[], state: FormState): Collected {
  const errors: Record<string, string> = {};
  const value = collectInto(fields, state, errors);
  return { value, errors };
}

function collectInto(
  fields: Field[],
  state: FormState,
  errors: Record<string, string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = collectField(f, state, errors);
    if (v !== undefined) out[f.name] = v;
  }
  return out;
}

function collectField(f: Field, state: FormState, errors: Record<string, string>): unknown {
  const missing = () => {
    if (f.required) errors[f.path] = `${f.label} is required`;
    return undefined;
  };
  switch (f.kind) {
    case "boolean":
      return state[f.path] === true;
    case "object": {
      if (!f.required && state[`${f.path}.__enabled`] !== true) return undefined;
      return collectInto(f.fields, state, errors);
    }
    case "union": {
      const chosen = f.options.find((o) => o.value === text(state, f.path));
      if (!chosen) return missing();
      return { [f.discriminator]: chosen.value, ...collectInto(chosen.fields, state, errors) };
    }
    case "string":
    case "enum": {
      const s = text(state, f.path);
      if (!s) return missing();
      if (f.kind === "string") {
        if (f.minLength !== undefined && s.length < f.minLength) {
          errors[f.path] = `${f.label} needs at least ${f.minLength} characters`;
        } else if (f.pattern && !new RegExp(f.pattern).test(s)) {
          errors[f.path] = `${f.label} does not have the expected form`;
        }
      }
      return s;
    }
    case "number":
    case "integer": {
      const s = text(state, f.path);
      if (!s) return missing();
      const n = Number(s);
      if (!Number.isFinite(n) || (f.kind === "integer" && !Number.isInteger(n))) {
        errors[f.path] = `${f.label} must be ${f.kind === "integer" ? "a whole number" : "a number"}`;
      } else if (f.minimum !== undefined && n < f.minimum) {
        errors[f.path] = `${f.label} must be at least ${f.minimum}`;
      } else if (f.exclusiveMinimum !== undefined && n <= f.exclusiveMinimum) {
        errors[f.path] = `${f.label} must be more than ${f.exclusiveMinimum}`;
      } else if (f.maximum !== undefined && n > f.maximum) {
        errors[f.path] = `${f.label} must be at most ${f.maximum}`;
      }
      return n;
    }
    case "list": {
      const items = splitList(text(state, f.path));
      if (items.length === 0) return missing();
      if (f.minItems !== undefined && items.length < f.minItems) {
        errors[f.path] = `${f.label} needs at least ${f.minItems} item(s)`;
      }
      return items;
    }
    case "map": {
      const s = text(state, f.path);
      if (!s) return missing();
      const map: Record<string, string> = {};
      for (const line of s.split("\n")) {
        if (!line.trim()) continue;
        const eq = line.indexOf("=");
        if (eq <= 0) {
          errors[f.path] = `${f.label}: write one key=value per line`;
          break;
        }
        map[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
      }
      return map;
    }
    case "json": {
      const s = text(state, f.path);
      if (!s) return missing();
      try {
        return JSON.parse(s) as unknown;
      } catch {
        errors[f.path] = `${f.label} must be valid JSON`;
        return undefined;
      }
    }
  }
}

/** Comma- or newline-separated values, trimmed, empty ones dropped. */
export function splitList(s: string): string[] {
  return s
    .split(/[,\n]/)
    .map((x) => x.trim())
    .filter(Boolean);
}
