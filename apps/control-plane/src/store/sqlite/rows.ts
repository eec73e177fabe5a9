import { rowMappers } from "../row-mappers.js";

/** SQLite keeps JSON as text and times as epoch milliseconds. */
export const { agent: agentFromRow, command: commandFromRow, audit: auditFromRow } = rowMappers({
  json: (value) => JSON.parse(value as string),
  time: (value) => value as number,
});
