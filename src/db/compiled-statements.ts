// More statements for the hot paths, beside compiled-sql.ts (same idea: SQL text built once from
// TypeORM's entity metadata, values converted per column as TypeORM converts them, run with
// `Database.query`/`execute`): UPDATEs, an INSERT that leaves an existing row alone, and the
// names and values for statements written by hand.
import type { EntityManager, EntityTarget, ObjectLiteral } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import type { Database } from "./database";

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
 * `UPDATE <table> SET <the given properties> WHERE <fixed clause>`. The SET list follows the
 * properties a call passes (undefined ones are left out, as TypeORM's `set` does); the text is
 * built once per distinct list and kept.
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
  async run(tx: EntityManager, changes: Partial<E>, whereParams: unknown[]): Promise<number> {
    const properties = Object.keys(changes).filter(
      (property) => changes[property] !== undefined,
    ) as Property<E>[];
    const key = properties.join(",");
    let sql = this.texts.get(key);
    if (sql === undefined) {
      const set = properties.map((property) => `${this.names.column(property)} = ?`).join(", ");
      sql = `UPDATE ${this.names.table} SET ${set} WHERE ${this.where}`;
      this.texts.set(key, sql);
    }
    const values = properties.map((property) => this.names.value(property, changes[property]));
    return this.db.execute(tx, sql, [...values, ...whereParams]);
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
    const values = this.properties.map((property) => this.names.value(property, row[property]));
    return (await this.db.execute(tx, this.sql, values)) === 1;
  }
}
