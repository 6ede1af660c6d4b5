import { formatBytes } from '../../../internal/bytes.js'
import type { StructureLimits } from './limits.js'
import { broken, counted, fourcc, pastLimit, viewOf, type Deflated } from './walk.js'

/**
 * PNG: the chunk list, up to IEND. Counts every chunk and the text chunks (`tEXt`, `zTXt`,
 * `iTXt`), adds up the metadata held as is (text, `eXIf`), and hands back the zlib streams
 * (`iCCP`, `zTXt`, compressed `iTXt`) for the caller to inflate with a bound: their inflated size
 * is the only one that matters (a 1.5 MB `iCCP` can hold 1.5 GB) and only inflating tells it.
 */
export interface PngStructure {
  deflated: Deflated[]
  /** Metadata bytes held uncompressed. */
  plainBytes: number
  /** The `eXIf` chunk's bytes, for the TIFF walk. */
  exif: Uint8Array | null
}

export function walkPng(data: Uint8Array, limits: StructureLimits): PngStructure {
  const view = viewOf(data)
  const deflated: Deflated[] = []
  let exif: Uint8Array | null = null
  let chunks = 0
  let texts = 0
  let profiles = 0
  let plainBytes = 0
  for (let at = 8; at + 8 <= data.length;) {
    const length = view.getUint32(at)
    const type = fourcc(data, at + 4)
    const body = data.subarray(at + 8, Math.min(at + 8 + length, data.length))
    counted(++chunks, limits.containerBlocks, 'PNG chunks')
    if (type === 'IEND') break
    if (type === 'iCCP') {
      if (++profiles > 1) throw broken('two iCCP chunks')
      const name = body.indexOf(0)
      if (name < 0) throw broken('an iCCP chunk without its name')
      deflated.push({ kind: 'icc', data: body.subarray(name + 2) })
    } else if (type === 'tEXt' || type === 'zTXt' || type === 'iTXt') {
      counted(++texts, limits.metadataBlocks, 'PNG text chunks')
      const text = compressedText(type, body)
      if (text) deflated.push({ kind: 'text', data: text })
      else plainBytes += body.length
    } else if (type === 'eXIf') {
      exif ??= body
      plainBytes += body.length
    }
    if (plainBytes > limits.metadataBytes) {
      throw pastLimit(
        `it has more than ${formatBytes(limits.metadataBytes)} of metadata`,
        formatBytes(limits.metadataBytes),
      )
    }
    at += 12 + length
  }
  return { deflated, plainBytes, exif }
}

/** The zlib stream of a `zTXt`, or of an `iTXt` whose compression flag is set; else null. */
function compressedText(type: string, body: Uint8Array): Uint8Array | null {
  const keyword = body.indexOf(0)
  if (keyword < 0) return null
  if (type === 'zTXt') return body.subarray(keyword + 2)
  if (type !== 'iTXt' || body[keyword + 1] !== 1) return null
  const language = body.indexOf(0, keyword + 3)
  const translated = language < 0 ? -1 : body.indexOf(0, language + 1)
  return translated < 0 ? null : body.subarray(translated + 1)
}
