// Appends events to an aggregate in the caller's transaction and reports the resulting details.
import type { EntityManager } from "typeorm";
import type { AggregateTable, Database } from "../db/database";
import { CompiledInsert } from "../db/compiled-sql";
import { EventEntity } from "../entities/event.entity";
import type { Clock } from "./clock";

export type AggregateType = "user" | "org" | "session";

const TABLE_OF: Record<AggregateType, AggregateTable> = {
  user: "users",
  org: "organizations",
  session: "sessions",
};

export interface Aggregate {
  type: AggregateType;
  id: string;
  /** The organization the aggregate belongs to (an org owns itself). */
  resourceOwner: string;
}

export interface NewEvent {
  type: string;
  /** Never a secret: payloads are readable by anyone with database access. */
  payload?: Record<string, unknown>;
}

/** What a manipulation wrote: the source of every ObjectDetails. */
export interface WriteDetails {
  sequence: number;
  eventDate: Date;
  resourceOwner: string;
}

export class EventStore {
  private readonly insert: CompiledInsert<EventEntity, keyof EventEntity>;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.insert = new CompiledInsert(db, EventEntity, [
      "aggregateType",
      "aggregateId",
      "sequence",
      "eventType",
      "payload",
      "creator",
      "resourceOwner",
      "createdAt",
    ]);
  }

  /**
   * `append` for many aggregates of one type at once (e.g. a batch of delivered mails): two
   * statements for the sequences and one insert, instead of two statements per aggregate.
   */
  async appendToEach(
    tx: EntityManager,
    type: AggregateType,
    creator: string,
    items: readonly { aggregate: Aggregate; event: NewEvent }[],
  ): Promise<void> {
    if (items.length === 0) return;
    const increments = new Map<string, number>();
    for (const { aggregate } of items) {
      increments.set(aggregate.id, (increments.get(aggregate.id) ?? 0) + 1);
    }
    const last = await this.db.bumpSequences(tx, TABLE_OF[type], increments);
    const next = new Map(
      [...increments].map(([id, count]) => [id, (last.get(id) ?? Number.NaN) - count + 1]),
    );
    const eventDate = this.clock.now();
    // Deferred in a batched transaction: nothing reads the events before COMMIT.
    await this.insert.defer(
      tx,
      items.map(({ aggregate, event }) => {
        const sequence = next.get(aggregate.id)!;
        if (Number.isNaN(sequence)) throw new Error(`aggregate ${type} ${aggregate.id} is missing`);
        next.set(aggregate.id, sequence + 1);
        return eventRow(aggregate, sequence, event, creator, eventDate);
      }),
    );
  }

  /**
   * Numbers `events` after the aggregate's current sequence and inserts them. Must run inside the
   * transaction that writes the state change, so state and events commit together.
   */
  async append(
    tx: EntityManager,
    aggregate: Aggregate,
    creator: string,
    events: NewEvent[],
  ): Promise<WriteDetails> {
    const table = TABLE_OF[aggregate.type];
    // In a batched transaction holding the aggregate's row, the bump and the events go out with
    // COMMIT, numbered from the sequence its locking read returned (Database.deferBump).
    const deferred = this.db.deferBump(tx, table, aggregate.id, events.length);
    const last = deferred ?? (await this.db.bumpSequence(tx, table, aggregate.id, events.length));
    if (last === undefined)
      throw new Error(`aggregate ${aggregate.type} ${aggregate.id} is missing`);
    const eventDate = this.clock.now();
    const first = last - events.length + 1;
    const rows = events.map((event, index) =>
      eventRow(aggregate, first + index, event, creator, eventDate),
    );
    await (deferred === undefined ? this.insert.run(tx, rows) : this.insert.defer(tx, rows));
    return { sequence: last, eventDate, resourceOwner: aggregate.resourceOwner };
  }
}

function eventRow(
  aggregate: Aggregate,
  sequence: number,
  event: NewEvent,
  creator: string,
  createdAt: Date,
): EventEntity {
  return {
    aggregateType: aggregate.type,
    aggregateId: aggregate.id,
    sequence,
    eventType: event.type,
    payload: JSON.stringify(event.payload ?? {}),
    creator,
    resourceOwner: aggregate.resourceOwner,
    createdAt,
  };
}
