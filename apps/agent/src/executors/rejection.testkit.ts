import { expect } from "vitest";
import { ExecutorError } from "./executor-error.js";

/** The ExecutorError a promise rejects with (fails the test if it resolves or throws something else). */
export async function rejection(promise: Promise<unknown>): Promise<ExecutorError> {
  const error = await promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ExecutorError);
  return error as ExecutorError;
}
