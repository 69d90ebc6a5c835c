// Column shapes shared by every entity, portable between MySQL/MariaDB and SQLite.

/** Resource IDs: UUIDv7 strings, time-ordered so InnoDB appends to its clustered index. */
export const idColumn = <E extends object = object>(name: string, extra?: E) => ({
  name,
  type: "varchar" as const,
  length: 36,
  ...(extra as E),
});

/** UTC timestamps with millisecond precision. */
export const timestampColumn = <E extends object = object>(name: string, extra?: E) => ({
  name,
  type: "datetime" as const,
  precision: 3,
  ...(extra as E),
});

/** BIGINT in the table, a JS number in memory (sequences never come near 2^53). */
export const bigintAsNumber = {
  to: (value: number) => value,
  from: (value: string | number) => Number(value),
};

export const sequenceColumn = () => ({
  name: "sequence",
  type: "bigint" as const,
  default: 0,
  transformer: bigintAsNumber,
});
