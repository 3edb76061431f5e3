// Form generation from the connector schemas the server publishes (a snapshot of
// GET /v1/data-sources/types in fixtures/; the browser test uses the live endpoint).
import { describe, expect, it } from "vitest";
import type { ConnectorType } from "../src/api/types";
import { collect, fieldsOf, initialState, splitList, type Field } from "../src/schemaForm";
import types from "./fixtures/connector-types.json";

const schemaOf = (name: string) => (types as unknown as ConnectorType[]).find((t) => t.type === name)!.config_schema;
const byName = (fields: Field[], name: string) => fields.find((f) => f.name === name)!;

describe("fieldsOf", () => {
  it("turns the folder schema into typed fields with defaults and required flags", () => {
    const fields = fieldsOf(schemaOf("file"));
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ["path", "string", true],
      ["pattern", "string", false],
      ["max_bytes", "integer", false],
    ]);
    expect(initialState(fields)).toEqual({ path: "", pattern: "**/*", max_bytes: "50000000" });
  });

  it("marks secrets, lists, optional (nullable) strings and multi-line queries", () => {
    const fields = fieldsOf(schemaOf("database"));
    const url = byName(fields, "url");
    expect(url).toMatchObject({ kind: "string", secret: true, required: true });
    expect(byName(fields, "query")).toMatchObject({ kind: "string", multiline: true });
    expect(byName(fields, "content_columns")).toMatchObject({ kind: "list", minItems: 1, required: true });
    expect(byName(fields, "title_column")).toMatchObject({ kind: "string", required: false });
    expect(byName(fields, "metadata_columns")).toMatchObject({ kind: "list", required: false });
  });

  it("follows $refs into nested objects and turns a discriminated oneOf into a choice", () => {
    const api = fieldsOf(schemaOf("api"));
    expect(byName(api, "method")).toMatchObject({ kind: "enum", options: ["GET", "POST"], default: "GET" });
    expect(byName(api, "headers").kind).toBe("map");
    expect(byName(api, "params").kind).toBe("map");
    expect(byName(api, "body").kind).toBe("json");
    const pagination = byName(api, "pagination");
    if (pagination.kind !== "union") throw new Error("pagination should be a union");
    expect(pagination.discriminator).toBe("type");
    expect(pagination.options.map((o) => o.value)).toEqual(["none", "page", "offset", "cursor", "link"]);
    const cursor = pagination.options.find((o) => o.value === "cursor")!;
    expect(cursor.fields.map((f) => [f.path, f.required])).toEqual([
      ["pagination.cursor_path", true],
      ["pagination.cursor_param", false],
    ]);

    const desk = fieldsOf(schemaOf("servicedesk"));
    const mappings = byName(desk, "table_mappings");
    if (mappings.kind !== "object") throw new Error("table_mappings should be an object");
    const comments = byName(mappings.fields, "comments");
    expect(comments).toMatchObject({ kind: "object", required: false });
    expect(byName(mappings.fields, "tickets")).toMatchObject({ kind: "object", required: true });
  });
});

describe("collect", () => {
  it("builds the config object the API expects, leaving unset optional fields out", () => {
    const fields = fieldsOf(schemaOf("database"));
    const state = {
      ...initialState(fields),
      url: "postgresql+psycopg://u:p@db/crm",
      query: "SELECT id, body FROM notes",
      id_column: "id",
      content_columns: "subject,\nbody",
    };
    const { value, errors } = collect(fields, state);
    expect(errors).toEqual({});
    expect(value).toEqual({
      url: "postgresql+psycopg://u:p@db/crm",
      query: "SELECT id, body FROM notes",
      id_column: "id",
      content_columns: ["subject", "body"],
    });
  });

  it("reports required, numeric, pattern and JSON problems by field path", () => {
    const s3 = fieldsOf(schemaOf("s3"));
    const bad = collect(s3, { ...initialState(s3), bucket: "x!", max_bytes: "-5" });
    expect(bad.errors).toEqual({
      bucket: "Bucket does not have the expected form",
      max_bytes: "Max bytes must be more than 0",
    });
    const api = fieldsOf(schemaOf("api"));
    const missing = collect(api, { ...initialState(api), body: "{not json", headers: "X-Team=sales\nbroken" });
    expect(missing.errors).toMatchObject({
      url: "Url is required",
      id_path: "Id path is required",
      content_paths: "Content paths is required",
      body: "Body must be valid JSON",
      headers: "Headers: write one key=value per line",
    });
  });

  it("puts the chosen union option and nested objects together", () => {
    const api = fieldsOf(schemaOf("api"));
    const state = {
      ...initialState(api),
      url: "https://example.test/items",
      id_path: "id",
      content_paths: "title, body",
      headers: "X-Team = sales",
      pagination: "cursor",
      "pagination.cursor_path": "meta.next",
      timeout: "12.5",
    };
    const { value, errors } = collect(api, state);
    expect(errors).toEqual({});
    expect(value).toMatchObject({
      url: "https://example.test/items",
      method: "GET",
      headers: { "X-Team": "sales" },
      pagination: { type: "cursor", cursor_path: "meta.next", cursor_param: "cursor" },
      timeout: 12.5,
      content_paths: ["title", "body"],
    });

    const desk = fieldsOf(schemaOf("servicedesk"));
    const deskState = initialState(desk);
    expect(deskState["table_mappings.comments.__enabled"]).toBe(false);
    const without = collect(desk, deskState);
    expect(Object.keys(without.errors)).toContain("table_mappings.tickets.table");
    expect(Object.keys(without.errors)).not.toContain("table_mappings.comments.table");
    const withComments = collect(desk, { ...deskState, "table_mappings.comments.__enabled": true });
    expect(Object.keys(withComments.errors)).toContain("table_mappings.comments.table");
  });
});

describe("splitList", () => {
  it("splits on commas and newlines", () => {
    expect(splitList(" a, b\n\nc ,")).toEqual(["a", "b", "c"]);
  });
});
