import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'

/**
 * Calls `onValue` with a response header's value (or undefined) once the head is written.
 *
 * `res.getHeader()` alone would miss it: headers handed to `writeHead(status, headers)` on a
 * response without earlier `setHeader` calls go straight to the wire and are never stored.
 * So `writeHead` of this one response is wrapped to read them from its arguments first (the
 * way the `on-headers` package observes a response), whichever way a route sends its head.
 */
export function watchResponseHeader(
  res: ServerResponse,
  name: string,
  onValue: (value: string | undefined) => void,
): void {
  const wanted = name.toLowerCase()
  const writeHead = res.writeHead
  let seen = false
  res.writeHead = function watchedWriteHead(this: ServerResponse, ...args: unknown[]) {
    if (!seen) {
      seen = true
      const headers = args.find((arg, i) => i > 0 && arg !== null && typeof arg === 'object')
      onValue(headerIn(headers, wanted) ?? stringOf(this.getHeader(wanted)))
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args)
  } as ServerResponse['writeHead']
}

function headerIn(headers: unknown, wanted: string): string | undefined {
  if (Array.isArray(headers)) {
    // [name, value, name, value, ...] or [[name, value], ...]
    const flat = headers.flat()
    for (let i = 0; i + 1 < flat.length; i += 2) {
      if (String(flat[i]).toLowerCase() === wanted) return String(flat[i + 1])
    }
    return undefined
  }
  if (!headers || typeof headers !== 'object') return undefined
  for (const [key, value] of Object.entries(headers as OutgoingHttpHeaders)) {
    if (key.toLowerCase() === wanted) return stringOf(value)
  }
  return undefined
}

function stringOf(value: number | string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  return Array.isArray(value) ? value.join(', ') : String(value)
}
