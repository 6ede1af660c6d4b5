/**
 * `create schema if not exists`, for `DATABASE_URL=postgres://...?schema=name`: the store needs
 * its schema to exist, and several processes starting at once may race to create it (Postgres
 * then reports a unique violation for the loser, which is success here).
 */
export async function ensureSchema(connectionString: string, schema: string): Promise<void> {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`ensureSchema: "${schema}" is not a plain SQL identifier.`)
  }
  const pg = await import('pg')
  const { Client } = pg.default ?? pg
  const client = new Client({ connectionString, application_name: 'darkroom-setup' })
  await client.connect()
  try {
    await client.query(`create schema if not exists "${schema}"`)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code !== '23505' && code !== '42P06') throw error
  } finally {
    await client.end().catch(() => undefined)
  }
}
