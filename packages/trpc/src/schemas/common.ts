import { z } from 'zod'
import { allowedKeysMessage } from '../errors.js'

/**
 * Shared pieces of the schemas. Inputs mirror core's limits so that a request core would refuse
 * is refused before it reaches core, with the same kind of message; core still checks
 * everything (it is also called without tRPC). Outputs are the exact shapes core returns, so
 * nothing else (a record's blob keys, a key's hash) can reach a client.
 */

/**
 * An input object that refuses any key it does not declare, at any depth: zod's
 * `unrecognized_keys`, which errors.ts turns into one violation per unknown key. Its message
 * lists the keys allowed (`allowed`, default the shape's), so each violation can name them.
 */
export function strictObject<Shape extends z.core.$ZodLooseShape>(
  shape: Shape,
  allowed: readonly string[] = Object.keys(shape),
) {
  const message = allowedKeysMessage(allowed)
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? message : undefined),
  })
}

/** An id of a photo, album, key, webhook or upload. */
export const idSchema = z.string().trim().min(1, { error: 'An id is required.' }).max(200, {
  error: 'An id has at most 200 characters.',
})

/** `true`/`false`, and in form fields also `1`/`0`, `on`/`off`, `yes`/`no`. */
export const formBooleanSchema = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'on', 'off', 'yes', 'no', ''])], {
    error: 'expected true or false (or 1/0, on/off, yes/no).',
  })
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'on' || v === 'yes')

/**
 * Compile-time proof that a schema's output is the type core declares, in both directions:
 * `const check: Mirrors<z.output<typeof photoSchema>, Photo> = true` fails to compile on drift.
 */
export type Mirrors<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
