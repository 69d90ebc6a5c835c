// Polling for outcomes that arrive asynchronously (outbox deliveries, processes becoming ready).

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves to the first value `probe` returns other than undefined, failing after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
