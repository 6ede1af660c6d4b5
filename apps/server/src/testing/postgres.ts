import { randomBytes } from 'node:crypto'
import pg from 'pg'

/**
 * Server tests on Postgres: the server at `DATABASE_URL` when it is a postgres:// URL, else the
 * local trust-auth one. Each test file makes its own schema (and pg-boss's beside it) and drops
 * both at the end, so parallel files and reruns never meet.
 */
export const POSTGRES_URL = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '')
  ? process.env.DATABASE_URL!
  : 'postgres://postgres@127.0.0.1:5432/test'

/** Why Postgres cannot be used (for `describe.skipIf`), or null when it answers. */
export async function postgresUnreachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return null
  } catch (error) {
    return (error instanceof Error ? error.message : String(error)) || 'no answer'
  } finally {
    await client.end().catch(() => undefined)
  }
}

export interface TestSchema {
  schema: string
  /** DATABASE_URL with `?schema=`. */
  databaseUrl: string
  /** The server env for it: DATABASE_URL, SIGNING_SECRET, JOBS_SCHEMA. */
  env: Record<string, string>
  /** Runs SQL on the database (as the test's admin). */
  query<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<T[]>
  drop(): Promise<void>
}

export async function createTestSchema(prefix = 'dr'): Promise<TestSchema> {
  const schema = `${prefix}_${randomBytes(8).toString('hex')}`
  const url = new URL(POSTGRES_URL)
  url.searchParams.set('schema', schema)
  const query = async <T extends pg.QueryResultRow>(sql: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: POSTGRES_URL })
    await client.connect()
    try {
      return (await client.query<T>(sql, values)).rows
    } finally {
      await client.end()
    }
  }
  await query(`create schema ${schema}`)
  return {
    schema,
    databaseUrl: url.toString(),
    env: {
      DATABASE_URL: url.toString(),
      SIGNING_SECRET: randomBytes(32).toString('hex'),
      JOBS_SCHEMA: `${schema}_jobs`,
    },
    query,
    async drop() {
      await query(`drop schema if exists ${schema} cascade`)
      await query(`drop schema if exists ${schema}_jobs cascade`)
    },
  }
}
