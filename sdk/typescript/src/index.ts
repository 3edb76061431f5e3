/** @ragaas/client: a typed client of the Ragaas REST API. */
export * from "./client.js";
export type { components, operations, paths } from "./schema.js";
