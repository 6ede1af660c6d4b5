import type { StructureLimits } from './limits.js'
import { counted, fourcc, viewOf } from './walk.js'

/**
 * HEIF/HEIC/AVIF: the boxes libheif reads before decoding, counted: the top-level boxes, the
 * children of `meta`, the items it declares (`iinf`, `iloc`) and the properties of `ipco`.
 * libheif has limits of its own; these come first and cost a walk of headers only. Sizes past the
 * file end are left to `parseHeif` and libheif, which refuse them.
 */
export function walkHeif(data: Uint8Array, limits: StructureLimits): void {
  const boxes = (start: number, end: number, what: string) => {
    const view = viewOf(data)
    const found: { type: string; start: number; end: number }[] = []
    for (let at = start; at + 8 <= end;) {
      let size = view.getUint32(at)
      let header = 8
      if (size === 1) {
        if (at + 16 > end) break
        size = Number(view.getBigUint64(at + 8))
        header = 16
      } else if (size === 0) {
        size = end - at
      }
      if (size < header) break
      found.push({ type: fourcc(data, at + 4), start: at + header, end: Math.min(at + size, end) })
      counted(found.length, limits.containerBlocks, what)
      at += size
    }
    return found
  }
  const top = boxes(0, data.length, 'HEIF boxes')
  const meta = top.find((box) => box.type === 'meta')
  if (!meta) return
  const children = boxes(meta.start + 4, meta.end, 'HEIF meta boxes')
  const view = viewOf(data)
  for (const box of children) {
    if (box.type === 'iinf' && box.start + 8 <= box.end) {
      const items =
        data[box.start] === 0 ? view.getUint16(box.start + 4) : view.getUint32(box.start + 4)
      counted(items, limits.images, 'HEIF items')
    } else if (box.type === 'iloc' && box.start + 10 <= box.end) {
      const version = data[box.start]!
      const at = box.start + 6
      const items = version < 2 ? view.getUint16(at) : view.getUint32(at)
      counted(items, limits.images, 'HEIF item locations')
    } else if (box.type === 'iprp') {
      const ipco = boxes(box.start, box.end, 'HEIF property boxes').find((b) => b.type === 'ipco')
      if (ipco) boxes(ipco.start, ipco.end, 'HEIF properties')
    }
  }
}
