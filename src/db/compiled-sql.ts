// Statements for the hot paths, built once from TypeORM's entity metadata and run with
// `tx.query`. TypeORM still names the tables and columns and converts every value both ways
// (dates, booleans, transformers) per engine; what is skipped is generating the same SQL text and
// hydrating entities on every request, which cost more CPU than the round trip itself. Beside
// INSERTs and SELECTs: UPDATEs, an INSERT that leaves an existing row alone, and the names and
// values for statements written by hand (EntitySql).
import type { EntityManager, EntityTarget, ObjectLiteral } from "typeorm";
import type { Database } from "./database";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";

type Columns<E> = readonly (keyof E & string)[];

/**
 * The statement text kept in `texts` under `key`, built on first use. A text built per call is
 * a new string each time, which the fixed-SQL check hashes and the escaper scans anew.
 */
export function kept(texts: Map<string, string>, key: string, build: () => string): string {
  let text = texts.get(key);
  if (text === undefined) texts.set(key, (text = build()));
  return text;
}

/** `(?, ?, …)` with `count` placeholders, for an `IN` list. */
export function placeholders(count: number): string {
  return `(${Array(count).fill("?").join(", ")})`;
}

function columnsOf<E extends ObjectLiteral>(
  db: Database,
  entity: EntityTarget<E>,
  properties: Columns<E>,
) {
  const names = new EntitySql(db, entity);
  return { table: names.table, columns: properties.map((property) => names.metadata(property)) };
}

/** INSERT of whole rows; one statement for any number of rows. */
export class CompiledInsert<E extends ObjectLiteral, K extends keyof E & string> {
  private readonly table: string;
  private readonly columns: ColumnMetadata[];
  private readonly head: string;
  private readonly tuple: string;
  /** The one-row text, built once (see `kept`). */
  private readonly single: string;
  /** runIf's text per guard (each a fixed clause of its caller), built once. */
  private readonly guarded = new Map<string, string>();

  constructor(
    private readonly db: Database,
    entity: EntityTarget<E>,
    private readonly properties: readonly K[],
  ) {
    const { dataSource } = db;
    ({ table: this.table, columns: this.columns } = columnsOf(db, entity, properties));
    const names = this.columns.map((column) => dataSource.driver.escape(column.databaseName));
    this.head = `INSERT INTO ${this.table} (${names.join(", ")}) VALUES `;
    this.tuple = `(${names.map(() => "?").join(", ")})`;
    this.single = this.head + this.tuple;
  }

  async run(tx: EntityManager, rows: readonly Pick<E, K>[]): Promise<void> {
    await this.db.query(tx, this.text(rows.length), this.valuesOf(rows));
  }

  /** `run`, deferred in a batched transaction (see Database.defer). */
  async defer(tx: EntityManager, rows: readonly Pick<E, K>[]): Promise<void> {
    await this.db.defer(tx, this.text(rows.length), this.valuesOf(rows));
  }

  /** Every row's values in order (a loop: V8's flatMap is slow on this path). */
  private valuesOf(rows: readonly Pick<E, K>[]): unknown[] {
    if (rows.length === 1) return this.values(rows[0]!);
    const values: unknown[] = [];
    for (const row of rows) values.push(...this.values(row));
    return values;
  }

  private text(rows: number): string {
    return rows === 1 ? this.single : this.head + Array(rows).fill(this.tuple).join(", ");
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
    const sql = kept(
      this.guarded,
      guard,
      () => `${this.head.replace(/ VALUES $/, "")} SELECT ${this.tuple.slice(1, -1)} ${guard}`,
    );
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
  /** The result's column aliases (c0, c1, …, x0, …), as constants: keys built per row cost. */
  private readonly aliases: string[];
  private readonly extraAliases: string[];
  /** The text with each suffix a caller used (see `kept`). */
  private readonly suffixed = new Map<string, string>();

  constructor(
    private readonly db: Database,
    entity: EntityTarget<E>,
    private readonly properties: readonly P[],
    /** Everything after FROM <table>, with column names as in the database. */
    where: (column: (property: keyof E & string) => string) => string,
    extra: Record<X, string> = {} as Record<X, string>,
  ) {
    const { dataSource } = db;
    const { table, columns } = columnsOf(db, entity, properties);
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
    this.aliases = columns.map((_, i) => `c${i}`);
    this.extraAliases = this.extraNames.map((_, i) => `x${i}`);
  }

  /** `suffix`: e.g. " FOR UPDATE" (MySQL only). */
  async all(
    tx: EntityManager,
    params: unknown[],
    suffix = "",
  ): Promise<(Pick<E, P> & Record<X, unknown>)[]> {
    return (await this.raw(tx, params, suffix)).map((raw) =>
      this.extras(raw, this.entity(raw) as Pick<E, P> & Record<X, unknown>),
    );
  }

  /**
   * `all`, with each row's entity columns and extra expressions apart: a caller that hands the
   * entity on needs no copy without the extras (an object rest copy costs more than the read).
   */
  async split(
    tx: EntityManager,
    params: unknown[],
    suffix = "",
  ): Promise<{ entity: Pick<E, P>; extra: Record<X, unknown> }[]> {
    return (await this.raw(tx, params, suffix)).map((raw) => ({
      entity: this.entity(raw),
      extra: this.extras(raw, {} as Record<X, unknown>),
    }));
  }

  private async raw(
    tx: EntityManager,
    params: unknown[],
    suffix: string,
  ): Promise<Record<string, unknown>[]> {
    const sql = suffix === "" ? this.sql : kept(this.suffixed, suffix, () => this.sql + suffix);
    return this.db.query<Record<string, unknown>[]>(tx, sql, params);
  }

  private entity(raw: Record<string, unknown>): Pick<E, P> {
    const { driver } = this.db.dataSource;
    const entity = {} as Record<string, unknown>;
    for (let index = 0; index < this.columns.length; index++) {
      entity[this.properties[index]!] = driver.prepareHydratedValue(
        raw[this.aliases[index]!],
        this.columns[index]!,
      );
    }
    return entity as Pick<E, P>;
  }

  /** Sets the extra expressions' values of `raw` on `target`. */
  private extras<T extends Record<X, unknown>>(raw: Record<string, unknown>, target: T): T {
    for (let index = 0; index < this.extraNames.length; index++) {
      (target as Record<string, unknown>)[this.extraNames[index]!] = raw[this.extraAliases[index]!];
    }
    return target;
  }

  async one(
    tx: EntityManager,
    params: unknown[],
    suffix = "",
  ): Promise<(Pick<E, P> & Record<X, unknown>) | undefined> {
    return (await this.all(tx, params, suffix))[0];
  }
}

type Property<E> = keyof E & string;

/** An entity's table and column names, escaped for the engine, and its values as stored. */
export class EntitySql<E extends ObjectLiteral> {
  /** The escaped table name. */
  readonly table: string;
  private readonly byProperty = new Map<string, ColumnMetadata>();

  constructor(
    private readonly db: Database,
    entity: EntityTarget<E>,
  ) {
    const metadata = db.dataSource.getMetadata(entity);
    this.table = db.dataSource.driver.escape(metadata.tablePath);
    for (const column of metadata.columns) this.byProperty.set(column.propertyName, column);
  }

  metadata(property: Property<E>): ColumnMetadata {
    const column = this.byProperty.get(property);
    if (!column) throw new Error(`${this.table} has no column ${property}`);
    return column;
  }

  /** The escaped column name of `property`, unqualified. */
  column(property: Property<E>): string {
    return this.db.dataSource.driver.escape(this.metadata(property).databaseName);
  }

  /** `value` as the database stores `property` (dates, booleans, transformers). */
  value(property: Property<E>, value: unknown): unknown {
    return this.db.dataSource.driver.preparePersistentValue(value, this.metadata(property));
  }
}

/**
 * `UPDATE <table> SET <the given properties> WHERE <fixed clause><suffix>`. The SET list follows
 * the properties a call passes (undefined ones are left out, as TypeORM's `set` does); a call may
 * end the clause with a suffix of its own (an `IN` list of its length). The text is built once
 * per distinct list and suffix and kept.
 */
export class CompiledUpdate<E extends ObjectLiteral> {
  readonly names: EntitySql<E>;
  private readonly where: string;
  private readonly texts = new Map<string, string>();

  constructor(
    private readonly db: Database,
    entity: EntityTarget<E>,
    /** The clause after WHERE, with `?` placeholders; `column` names a property's column. */
    where: (column: (property: Property<E>) => string) => string,
  ) {
    this.names = new EntitySql(db, entity);
    this.where = where((property) => this.names.column(property));
  }

  /**
   * Sets `changes` on the rows `whereParams` select; resolves to the rows matched (MySQL counts
   * found rows, as TypeORM's `affected` does). Parameters of the clause are passed as they are:
   * convert dates with `value`.
   */
  async run(
    tx: EntityManager,
    changes: Partial<E>,
    whereParams: unknown[],
    suffix = "",
  ): Promise<number> {
    const { sql, values } = this.statement(changes, suffix);
    return this.db.execute(tx, sql, [...values, ...whereParams]);
  }

  /** `run` when nobody needs the count, deferred in a batched transaction (Database.defer). */
  async defer(
    tx: EntityManager,
    changes: Partial<E>,
    whereParams: unknown[],
    suffix = "",
  ): Promise<void> {
    const { sql, values } = this.statement(changes, suffix);
    await this.db.defer(tx, sql, [...values, ...whereParams]);
  }

  private statement(changes: Partial<E>, suffix: string): { sql: string; values: unknown[] } {
    const properties = Object.keys(changes).filter(
      (property) => changes[property] !== undefined,
    ) as Property<E>[];
    const sql = kept(this.texts, `${properties.join(",")}\u0000${suffix}`, () => {
      const set = properties.map((property) => `${this.names.column(property)} = ?`).join(", ");
      return `UPDATE ${this.names.table} SET ${set} WHERE ${this.where}${suffix}`;
    });
    return {
      sql,
      values: properties.map((property) => this.names.value(property, changes[property])),
    };
  }

  value(property: Property<E>, value: unknown): unknown {
    return this.names.value(property, value);
  }
}

/**
 * INSERT of one row that does nothing when a row with the same primary or unique key exists:
 * `INSERT IGNORE` on MySQL/MariaDB, `ON CONFLICT DO NOTHING` on SQLite (which ignores only
 * uniqueness conflicts). One round trip where a read and a caught duplicate took two or three.
 * On MySQL, IGNORE also turns other errors of the row into warnings (a too long value is cut):
 * use it only for rows whose values always fit.
 */
export class CompiledInsertIfAbsent<E extends ObjectLiteral, K extends Property<E>> {
  private readonly names: EntitySql<E>;
  private readonly sql: string;

  constructor(
    private readonly db: Database,
    entity: EntityTarget<E>,
    private readonly properties: readonly K[],
  ) {
    this.names = new EntitySql(db, entity);
    const columns = properties.map((property) => this.names.column(property)).join(", ");
    const tuple = properties.map(() => "?").join(", ");
    this.sql =
      db.dialect === "mysql"
        ? `INSERT IGNORE INTO ${this.names.table} (${columns}) VALUES (${tuple})`
        : `INSERT INTO ${this.names.table} (${columns}) VALUES (${tuple}) ON CONFLICT DO NOTHING`;
  }

  /** Resolves to whether the row was inserted (false: one with its key was there). */
  async run(tx: EntityManager, row: Pick<E, K>): Promise<boolean> {
    return (await this.db.execute(tx, this.sql, this.values(row))) === 1;
  }

  /** `run` when nobody needs to know, deferred in a batched transaction (Database.defer). */
  async defer(tx: EntityManager, row: Pick<E, K>): Promise<void> {
    await this.db.defer(tx, this.sql, this.values(row));
  }

  private values(row: Pick<E, K>): unknown[] {
    return this.properties.map((property) => this.names.value(property, row[property]));
  }
}
