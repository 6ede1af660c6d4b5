import pg from 'pg'

/**
 * The storage tests' Postgres: `DATABASE_URL`, else the local trust-auth server. Test-only
 * (left out of the build); each test file makes and drops a schema of its own through `admin`.
 */
export const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** Runs `fn` on a fresh admin connection, closed afterwards. */
export async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** Why Postgres cannot be used (for `describe.skipIf`), or null when it answers. */
export async function postgresUnreachable(): Promise<string | null> {
  return admin((c) => c.query('select 1')).then(
    () => null,
    (error: unknown) => (error instanceof Error ? error.message : String(error)) || 'no answer',
  )
}
