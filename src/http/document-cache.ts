// Apollo's cache of parsed and validated documents, bounded by what the documents really hold.
// Apollo's default LRU sizes an entry by the JSON of its AST, which leaves out the source text
// and the token list a parsed document keeps: a comment-padded 60 KB query counted as 519 bytes,
// so anonymous callers could fill the heap with distinct valid documents (issue 18, item 9).
import type { DocumentStore } from "@apollo/server";
import type { DocumentNode } from "graphql";

/**
 * Bytes of heap a parsed document takes per character of its source, rounded up: measured with
 * graphql-js 16 at about 84 for dense queries (many short tokens) and 45 for comment lines.
 */
const HEAP_BYTES_PER_CHARACTER = 128;

/** Default budget: 32 MiB of estimated heap, a few hundred typical operations. */
export const DOCUMENT_CACHE_BYTES = 32 * 1024 * 1024;

/** A least-recently-used cache whose entries weigh their source's length. */
export class DocumentCache implements DocumentStore {
  private readonly entries = new Map<string, { document: DocumentNode; weight: number }>();
  private total = 0;

  constructor(private readonly maxBytes = DOCUMENT_CACHE_BYTES) {}

  get(key: string): Promise<DocumentNode | undefined> {
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return Promise.resolve(entry?.document);
  }

  set(key: string, document: DocumentNode): Promise<void> {
    this.remove(key);
    const weight = weigh(document);
    if (weight > this.maxBytes) return Promise.resolve();
    this.entries.set(key, { document, weight });
    this.total += weight;
    for (const oldest of this.entries.keys()) {
      if (this.total <= this.maxBytes) break;
      this.remove(oldest);
    }
    return Promise.resolve();
  }

  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.remove(key));
  }

  /** Estimated heap held by the cached documents. */
  get size(): number {
    return this.total;
  }

  private remove(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.total -= entry.weight;
    return true;
  }
}

/** A document parsed without locations has no source to measure: it is not cached. */
function weigh(document: DocumentNode): number {
  const length = document.loc?.source.body.length;
  return length === undefined ? Number.MAX_SAFE_INTEGER : length * HEAP_BYTES_PER_CHARACTER;
}
