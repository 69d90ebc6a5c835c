// Statements for the hot paths, built once from TypeORM's entity metadata and run with
// `tx.query`. TypeORM still names the tables and columns and converts every value both ways
// (dates, booleans, transformers) per engine; what is skipped is generating the same SQL text and
// hydrating entities on every request, which cost more CPU than the round trip itself.
import type { DataSource, EntityManager, EntityTarget, ObjectLiteral } from "typeorm";
import type { Database } from "./database";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";

type Columns<E> = readonly (keyof E & string)[];

function columnsOf<E extends ObjectLiteral>(
  dataSource: DataSource,
  entity: EntityTarget<E>,
  properties: Columns<E>,
) {
  const metadata = dataSource.getMetadata(entity);
  const columns = properties.map((property) => {
    const column = metadata.findColumnWithPropertyName(property);
    if (!column) throw new Error(`${metadata.name} has no column ${property}`);
    return column;
  });
  return { table: dataSource.driver.escape(metadata.tablePath), columns };
}

/** INSERT of whole rows; one statement for any number of rows. */
export class CompiledInsert<E extends ObjectLiteral, K extends keyof E & string> {
  private readonly table: string;
  private readonly columns: ColumnMetadata[];
  private readonly head: string;
  private readonly tuple: string;

  constructor(
    private readonly db: Database,
    entity: EntityTarget<E>,
    private readonly properties: readonly K[],
  ) {
    const { dataSource } = db;
    ({ table: this.table, columns: this.columns } = columnsOf(dataSource, entity, properties));
    const names = this.columns.map((column) => dataSource.driver.escape(column.databaseName));
    this.head = `INSERT INTO ${this.table} (${names.join(", ")}) VALUES `;
    this.tuple = `(${names.map(() => "?").join(", ")})`;
  }

  async run(tx: EntityManager, rows: readonly Pick<E, K>[]): Promise<void> {
    const values = rows.flatMap((row) => this.values(row));
    await this.db.query(tx, this.head + rows.map(() => this.tuple).join(", "), values);
  }

  /** `run`, deferred in a batched transaction (see Database.defer). */
  async defer(tx: EntityManager, rows: readonly Pick<E, K>[]): Promise<void> {
    const values = rows.flatMap((row) => this.values(row));
    await this.db.defer(tx, this.head + rows.map(() => this.tuple).join(", "), values);
  }

  /**
   * Inserts `row` only when `guard` (a FROM ... WHERE ... clause with its own `?` parameters)
   * yields a row; resolves to whether it did. The guard is checked in the same statement, so a
   * limit costs no extra round trip.
   */
  async runIf(
    tx: EntityManager,
    row: Pick<E, K>,
    guard: string,
    guardParams: unknown[],
  ): Promise<boolean> {
    const sql = `${this.head.replace(/ VALUES $/, "")} SELECT ${this.tuple.slice(1, -1)} ${guard}`;
    return (await this.db.execute(tx, sql, [...this.values(row), ...guardParams])) === 1;
  }

  /** `value` as the database stores `property` (dates, booleans, transformers). */
  prepare(property: K, value: unknown): unknown {
    const column = this.columns[this.properties.indexOf(property)]!;
    return this.db.dataSource.driver.preparePersistentValue(value, column);
  }

  private values(row: Pick<E, K>): unknown[] {
    return this.columns.map((column, index): unknown =>
      this.db.dataSource.driver.preparePersistentValue(row[this.properties[index]!], column),
    );
  }
}

/**
 * SELECT of listed columns by a fixed clause (`?` placeholders, in order). Columns are qualified
 * by the table name, so the clause may join other tables; `extra` adds raw expressions, returned
 * as the driver gives them.
 */
export class CompiledSelect<
  E extends ObjectLiteral,
  P extends keyof E & string,
  X extends string = never,
> {
  private readonly columns: ColumnMetadata[];
  private readonly extraNames: X[];
  private readonly sql: string;

  constructor(
    private readonly db: Database,
    entity: EntityTarget<E>,
    private readonly properties: readonly P[],
    /** Everything after FROM <table>, with column names as in the database. */
    where: (column: (property: keyof E & string) => string) => string,
    extra: Record<X, string> = {} as Record<X, string>,
  ) {
    const { dataSource } = db;
    const { table, columns } = columnsOf(dataSource, entity, properties);
    this.columns = columns;
    this.extraNames = Object.keys(extra) as X[];
    const metadata = dataSource.getMetadata(entity);
    const qualified = (name: string) => `${table}.${dataSource.driver.escape(name)}`;
    const column = (property: keyof E & string) =>
      qualified(metadata.findColumnWithPropertyName(property)!.databaseName);
    const selected = [
      ...columns.map((c, i) => `${qualified(c.databaseName)} AS c${i}`),
      ...this.extraNames.map((name, i) => `${extra[name]} AS x${i}`),
    ];
    this.sql = `SELECT ${selected.join(", ")} FROM ${table} ${where(column)}`;
  }

  /** `suffix`: e.g. " FOR UPDATE" (MySQL only). */
  async all(
    tx: EntityManager,
    params: unknown[],
    suffix = "",
  ): Promise<(Pick<E, P> & Record<X, unknown>)[]> {
    const rows = await this.db.query<Record<string, unknown>[]>(tx, this.sql + suffix, params);
    return rows.map((raw) => {
      const entity = {} as Pick<E, P> & Record<X, unknown>;
      this.columns.forEach((column, index) => {
        entity[this.properties[index]!] = this.db.dataSource.driver.prepareHydratedValue(
          raw[`c${index}`],
          column,
        ) as (Pick<E, P> & Record<X, unknown>)[P];
      });
      this.extraNames.forEach((name, index) => {
        (entity as Record<X, unknown>)[name] = raw[`x${index}`];
      });
      return entity;
    });
  }

  async one(
    tx: EntityManager,
    params: unknown[],
    suffix = "",
  ): Promise<(Pick<E, P> & Record<X, unknown>) | undefined> {
    return (await this.all(tx, params, suffix))[0];
  }
}
