/** A command line the agent cannot act on: printed with the usage, exit code 2. */
export class UsageError extends Error {}
