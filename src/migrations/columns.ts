// Column builders for migrations, mirroring src/entities/columns.ts.
import type { TableColumnOptions } from "typeorm";

export const id = (name: string, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: "varchar",
  length: "36",
  ...extra,
});

export const timestamp = (
  name: string,
  extra: Partial<TableColumnOptions> = {},
): TableColumnOptions => ({
  name,
  type: "datetime",
  precision: 3,
  ...extra,
});

export const sequence = (): TableColumnOptions => ({
  name: "sequence",
  type: "bigint",
  default: 0,
});
