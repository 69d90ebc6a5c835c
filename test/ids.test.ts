// The IDs every row and event carries (UUIDv7, RFC 9562): the shape clients validate, the
// creation time in the first 48 bits, so IDs sort by creation, and no repeats.
import { uuidV7 } from "../src/core/clock";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const millisecondsOf = (id: string) => parseInt(id.replace(/-/g, "").slice(0, 12), 16);

describe("uuidV7", () => {
  it("is a version 7, RFC 9562 variant UUID in lower-case hex", () => {
    for (let i = 0; i < 100; i++) expect(uuidV7.next()).toMatch(UUID_V7);
  });

  it("starts with the milliseconds of its creation, big-endian", () => {
    const before = Date.now();
    const id = uuidV7.next();
    const after = Date.now();
    expect(millisecondsOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisecondsOf(id)).toBeLessThanOrEqual(after);
  });

  it("sorts IDs of later milliseconds after earlier ones, as text", async () => {
    const first = uuidV7.next();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = uuidV7.next();
    expect(millisecondsOf(second)).toBeGreaterThan(millisecondsOf(first));
    expect([second, first].sort()).toEqual([first, second]);
  });

  it("does not repeat", () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => uuidV7.next()));
    expect(ids.size).toBe(10_000);
  });
});
