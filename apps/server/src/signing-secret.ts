import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * The HMAC key for signed URLs when `SIGNING_SECRET` is not set: made once, kept in
 * `<dataDir>/secret` (mode 600), and read back on every start so that signed URLs survive
 * restarts. Two processes starting at once agree: the file is created exclusively.
 */
export async function loadOrCreateSigningSecret(dataDir: string): Promise<string> {
  const path = join(dataDir, 'secret')
  const existing = await readSecret(path)
  if (existing) return existing
  await mkdir(dataDir, { recursive: true })
  try {
    await writeFile(path, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  const created = await readSecret(path)
  if (!created)
    throw new Error(`The signing secret in ${path} is empty; remove the file to regenerate it.`)
  return created
}

async function readSecret(path: string): Promise<string | null> {
  try {
    const text = (await readFile(path, 'utf8')).trim()
    return text.length > 0 ? text : null
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}
