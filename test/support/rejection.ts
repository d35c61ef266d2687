// The error a promise rejects with, checked to be of the expected class: one helper for the suites
// that assert on typed errors (GatewayError, UpstreamError, AuthError, the SDKs' APIError).
import { expect } from 'bun:test';

/** Awaits `p`, expects it to reject with an instance of `type`, and returns that error. */
export async function rejectionOf<E>(p: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    return e as E;
  }
  throw new Error(`expected a rejection with ${type.name}, but the promise resolved`);
}
