import type { StructureLimits } from './limits.js'
import { amount, broken, counted, pastLimit, viewOf } from './walk.js'

/**
 * TIFF (a TIFF file, or the EXIF block of any other format): the directories a reader follows,
 * the chain of next-IFD offsets and the sub-IFDs (SubIFDs, EXIF, GPS, Interop). libtiff walks
 * the whole chain to count pages, so 300 000 directories cost seconds of CPU before a pixel is
 * decoded; here the walk stops at `tiffIfds` directories and `tiffEntries` entries in all.
 *
 * A chain that comes back to a directory it has passed (a loop) is corrupt. A sub-IFD that
 * points at a directory already seen is only not followed again, and an offset outside the
 * block ends that branch: cameras write such EXIF, and readers shrug it off.
 */
const SUB_IFD_TAGS = new Set([0x014a, 0x8769, 0x8825, 0xa005])
const TYPE_LONG = 4
const TYPE_IFD = 13
const TYPE_LONG8 = 16
const TYPE_IFD8 = 18

export function walkTiff(block: Uint8Array, limits: StructureLimits, what = 'TIFF'): void {
  if (block.length < 8) return
  const view = viewOf(block)
  const order = view.getUint16(0)
  if (order !== 0x4949 && order !== 0x4d4d) return
  const little = order === 0x4949
  const version = view.getUint16(2, little)
  if (version !== 42 && version !== 43) return
  const big = version === 43
  const offset = (at: number): number =>
    big ? Number(view.getBigUint64(at, little)) : view.getUint32(at, little)
  const entrySize = big ? 20 : 12
  const countSize = big ? 8 : 2
  const offsetSize = big ? 8 : 4
  const fits = (at: number, size: number) => at >= 8 && at + size <= block.length

  const seen = new Set<number>()
  const chain = new Set<number>()
  let ifds = 0
  let entries = 0
  /** Directories still to visit: [offset, reached by the next-IFD chain]. */
  const pending: [number, boolean][] = [[offset(big ? 8 : 4), true]]
  while (pending.length > 0) {
    const [at, chained] = pending.pop()!
    if (at === 0 || !fits(at, countSize)) continue
    if (chained && chain.has(at)) throw broken(`the ${what} directories form a loop`)
    if (chained) chain.add(at)
    if (seen.has(at)) continue
    seen.add(at)
    counted(++ifds, limits.tiffIfds, `${what} directories (IFDs)`)
    const count = big ? Number(view.getBigUint64(at, little)) : view.getUint16(at, little)
    entries += count
    if (entries > limits.tiffEntries) {
      const limit = amount(limits.tiffEntries)
      throw pastLimit(`it has more than ${limit} ${what} directory entries`, limit)
    }
    const first = at + countSize
    for (let i = 0; i < count; i++) {
      const entry = first + i * entrySize
      if (!fits(entry, entrySize)) break
      if (!SUB_IFD_TAGS.has(view.getUint16(entry, little))) continue
      const type = view.getUint16(entry + 2, little)
      const values = big
        ? Number(view.getBigUint64(entry + 4, little))
        : view.getUint32(entry + 4, little)
      const wide = type === TYPE_LONG8 || type === TYPE_IFD8
      if (!wide && type !== TYPE_LONG && type !== TYPE_IFD) continue
      const valueSize = wide ? 8 : 4
      // Each value is a directory: a SubIFDs tag that lists a million is past the limit.
      counted(values, limits.tiffIfds, `${what} directories (IFDs)`)
      const inline = values * valueSize <= offsetSize
      const base = inline ? entry + 4 + (big ? 8 : 4) : offset(entry + 4 + (big ? 8 : 4))
      for (let v = 0; v < values; v++) {
        const slot = base + v * valueSize
        if (!inline && !fits(slot, valueSize)) break
        const target = wide ? Number(view.getBigUint64(slot, little)) : view.getUint32(slot, little)
        pending.push([target, false])
      }
    }
    const next = first + count * entrySize
    if (fits(next, offsetSize)) pending.push([offset(next), true])
  }
}
