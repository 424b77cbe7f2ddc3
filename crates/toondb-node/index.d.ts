/// <reference types="node" />
/** Keys, values and prefixes: Buffers or strings (UTF-8). */
export type Bytes = Buffer | string
/** SQL values: integers beyond 2^53 come back as bigint; BLOBs as Buffer. */
export type SqlValue = null | number | bigint | string | Buffer
export type SqlParam = SqlValue | boolean | undefined
export type VectorLike = Float32Array | Float64Array | number[]
/**
 * Metadata filter: {field: value} (equality; several keys are AND-ed),
 * {field: {$eq|$ne|$gt|$gte|$lt|$lte: v, $in|$nin: [..], $exists: bool}},
 * {$and: [...]}, {$or: [...]}, {$not: {...}}.
 */
export type Filter = Record<string, unknown>

/** Error thrown by every call; `code` classifies it. */
export interface ToondbError extends Error {
  code:
    | 'CONFLICT' | 'NOT_FOUND' | 'ALREADY_EXISTS' | 'INVALID_ARGUMENT' | 'CONSTRAINT'
    | 'UNSUPPORTED' | 'CORRUPTION' | 'CLOSED' | 'BUSY' | 'IO' | 'INTERRUPTED'
    | 'RESOURCE_EXHAUSTED' | 'INTERNAL'
}

export interface KvPair { key: Buffer; value: Buffer }
export interface DocumentInput { id: string; vector: VectorLike; text?: string | null; metadata?: Record<string, unknown> | null }
export interface Document { id: string; vector: number[]; text: string | null; metadata: Record<string, unknown> }
export interface SearchHit {
  id: string
  /** Higher is better. */
  score: number
  distance: number | null
  keywordScore: number | null
  text: string | null
  metadata: Record<string, unknown>
}
export interface SearchOptions { filter?: Filter; vectorWeight?: number; keywordWeight?: number; efSearch?: number }

export interface SectionCommon { name?: string; priority?: number; max_tokens?: number }
export type Section = SectionCommon & (
  | { type: 'system'; text: string }
  | { type: 'text'; name: string; text: string }
  | { type: 'history'; messages: Array<{ role: string; content: string }> }
  | { type: 'search'; collection: string; text?: string; vector?: number[]; k?: number; filter?: Filter }
  | { type: 'sql'; name: string; sql: string; params?: Array<null | boolean | number | string> }
  | { type: 'kv_prefix'; name: string; prefix: string }
)
export interface ContextSpec { budget?: number; tokenizer?: 'o200k_base' | 'cl100k_base'; sections: Section[] }
export interface SectionReport {
  name: string; priority: number; tokens: number; itemsIncluded: number
  itemsDropped: number; duplicates: number; truncated: boolean
}
export interface ContextResult { text: string; totalTokens: number; budget: number; tokenizer: string; sections: SectionReport[] }

export class Database {
  /** Opens (creating if needed) a database directory; ":memory:" for an in-memory one. */
  static open(path: string): Database
  static openReadOnly(path: string): Database
  static openInMemory(): Database
  readonly closed: boolean
  close(): void
  put(key: Bytes, value: Bytes): void
  putAsync(key: Bytes, value: Bytes): Promise<void>
  get(key: Bytes): Buffer | null
  getAsync(key: Bytes): Promise<Buffer | null>
  delete(key: Bytes): void
  deleteAsync(key: Bytes): Promise<void>
  scanPrefix(prefix: Bytes): KvPair[]
  scanPrefixAsync(prefix: Bytes): Promise<KvPair[]>
  execute(sql: string, params?: SqlParam[]): number
  executeAsync(sql: string, params?: SqlParam[]): Promise<number>
  query(sql: string, params?: SqlParam[]): Array<Record<string, SqlValue>>
  queryAsync(sql: string, params?: SqlParam[]): Promise<Array<Record<string, SqlValue>>>
  /** One statement; `lastInsertRowid` is null when it inserted no row. */
  run(sql: string, params?: SqlParam[]): RunResult
  runAsync(sql: string, params?: SqlParam[]): Promise<RunResult>
  /** Rows produced while you read them (memory stays flat; close() or leaving a loop stops the query). */
  queryIter(sql: string, params?: SqlParam[]): RowIter
  /** A generator over the rows of a query (lazy). */
  iterate(sql: string, params?: SqlParam[]): IterableIterator<Record<string, SqlValue>>
  /** The first row, or undefined; the statement stops after it. */
  queryFirst(sql: string, params?: SqlParam[], raw?: boolean): Record<string, SqlValue> | SqlValue[] | undefined
  queryFirstAsync(sql: string, params?: SqlParam[], raw?: boolean): Promise<Record<string, SqlValue> | SqlValue[] | undefined>
  /** A better-sqlite3-style statement: run/get/all/iterate (+ *Async), raw(), pluck(). */
  prepare(sql: string): Statement
  begin(): Transaction
  /** Runs fn in a transaction, commits, rolls back on throw, retries on CONFLICT. */
  transaction<T>(fn: (tx: Transaction) => T | Promise<T>, opts?: { attempts?: number }): Promise<T>
  transactionSync<T>(fn: (tx: Transaction) => T): T
  createCollection(name: string, dim: number, metric?: 'cosine' | 'l2' | 'ip'): Collection
  collection(name: string): Collection
  listCollections(): string[]
  dropCollection(name: string): boolean
  context(spec: ContextSpec): ContextResult
  contextAsync(spec: ContextSpec): Promise<ContextResult>
  contextQuery(statement: string): ContextResult
  contextQueryAsync(statement: string): Promise<ContextResult>
  graphCall(namespace: string, op: string, argsJson?: string): string
  graphCallAsync(namespace: string, op: string, argsJson?: string): Promise<string>
  graph(namespace: string): Graph
}

export class Graph {
  readonly namespace: string
  addNode(id: string, label: string, props?: Record<string, unknown>, opts?: Record<string, unknown>): any
  updateNode(id: string, props?: Record<string, unknown>, opts?: Record<string, unknown>): any
  deleteNode(id: string, opts?: Record<string, unknown>): { deleted: boolean }
  addEdge(src: string, type: string, dst: string, props?: Record<string, unknown>, opts?: Record<string, unknown>): any
  updateEdge(src: string, type: string, dst: string, props?: Record<string, unknown>, opts?: Record<string, unknown>): any
  deleteEdge(src: string, type: string, dst: string, opts?: Record<string, unknown>): { deleted: boolean }
  getNode(id: string, opts?: Record<string, unknown>): any | null
  getEdge(src: string, type: string, dst: string, opts?: Record<string, unknown>): any | null
  nodeHistory(id: string): any[]
  nodes(opts?: Record<string, unknown>): any[]
  neighbors(node: string, opts?: Record<string, unknown>): Array<{ id: string; edge: any }>
  traverse(start: string, opts?: Record<string, unknown>): Array<{ id: string; depth: number; via: any }>
  shortestPath(start: string, target: string, opts?: Record<string, unknown>): { nodes: string[]; edges: any[] } | null
  subgraph(start: string, opts?: Record<string, unknown>): { nodes: any[]; edges: any[]; truncated: boolean }
}

export class Transaction {
  graphCall(namespace: string, op: string, argsJson?: string): string
  graph(namespace: string): Graph
  readonly active: boolean
  put(key: Bytes, value: Bytes): void
  get(key: Bytes): Buffer | null
  delete(key: Bytes): void
  execute(sql: string, params?: SqlParam[]): number
  query(sql: string, params?: SqlParam[]): Array<Record<string, SqlValue>>
  run(sql: string, params?: SqlParam[]): RunResult
  /** The result is computed when the query starts (a transaction's reads are not streamed). */
  queryIter(sql: string, params?: SqlParam[]): RowIter
  iterate(sql: string, params?: SqlParam[]): IterableIterator<Record<string, SqlValue>>
  queryFirst(sql: string, params?: SqlParam[], raw?: boolean): Record<string, SqlValue> | SqlValue[] | undefined
  prepare(sql: string): Statement
  commit(): void
  rollback(): void
}

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number
  /** Rowid of the last row inserted (bigint beyond 2^53), null when none was. */
  lastInsertRowid: number | bigint | null
}

/** The rows of a query, one at a time; also a JS iterator (`for (const row of it)`). */
export class RowIter implements Iterable<Record<string, SqlValue>> {
  readonly columns: string[]
  /** The next row (an array with raw), or undefined at the end. */
  nextRow(raw?: boolean): Record<string, SqlValue> | SqlValue[] | undefined
  /** Stops the query (idempotent). */
  close(): void
  [Symbol.iterator](): Iterator<Record<string, SqlValue>>
}

/** A statement in the style of better-sqlite3 (see Database.prepare). */
export class Statement {
  readonly source: string
  /** Rows as arrays of values. */
  raw(on?: boolean): this
  /** Only the first column of each row. */
  pluck(on?: boolean): this
  run(...params: SqlParam[] | [SqlParam[]]): RunResult
  runAsync(...params: SqlParam[] | [SqlParam[]]): Promise<RunResult>
  get(...params: SqlParam[] | [SqlParam[]]): any
  getAsync(...params: SqlParam[] | [SqlParam[]]): Promise<any>
  all(...params: SqlParam[] | [SqlParam[]]): any[]
  allAsync(...params: SqlParam[] | [SqlParam[]]): Promise<any[]>
  iterate(...params: SqlParam[] | [SqlParam[]]): IterableIterator<any>
  columns(...params: SqlParam[] | [SqlParam[]]): string[]
}

export class Collection {
  readonly name: string
  readonly dim: number
  len(): number
  upsert(doc: DocumentInput): void
  upsertMany(docs: DocumentInput[]): void
  upsertManyAsync(docs: DocumentInput[]): Promise<void>
  get(id: string): Document | null
  delete(id: string): boolean
  search(vector: VectorLike, k: number, opts?: SearchOptions): SearchHit[]
  searchAsync(vector: VectorLike, k: number, opts?: SearchOptions): Promise<SearchHit[]>
  keywordSearch(text: string, k: number, opts?: SearchOptions): SearchHit[]
  hybridSearch(text: string, vector: VectorLike, k: number, opts?: SearchOptions): SearchHit[]
  hybridSearchAsync(text: string, vector: VectorLike, k: number, opts?: SearchOptions): Promise<SearchHit[]>
}

export function open(path: string): Database
