/**
 * A header-only reader for HEIF/HEIC/AVIF (ISO BMFF `meta` box), enough to size an image without
 * decoding it: the primary item (`pitm`), its properties (`ispe` stored size, `clap` crop, `irot`
 * rotation, in `ipma` order, which is the order a decoder applies them), its codec (for a `grid`,
 * the codec of its tiles), the number of top-level images, and the EXIF block.
 *
 * Why our own: sharp's metadata() reports only the displayed size and drops `irot`, and exifr
 * ignores the `iloc` base offset, so it misreads the EXIF of files like avif-orientation-6.avif.
 * Every read is bounds-checked; malformed input throws `HeifParseError`.
 */
export interface HeifLayout {
  primaryItemId: number
  /** Item type of the primary image: `hvc1`, `av01`, `grid`, ... */
  itemType: string
  /** Coding of the pixels: the primary's own, or its first tile's for a grid. */
  codec: 'hevc' | 'av1' | 'other'
  /** Size as stored (`ispe`). */
  width: number
  height: number
  /** Size after `clap` and `irot`, as a decoder (libheif) hands it out. */
  displayWidth: number
  displayHeight: number
  /** `irot` in degrees, anticlockwise. */
  rotation: 0 | 90 | 180 | 270
  /** Image items that are not hidden, thumbnails or auxiliary images (libheif's top level). */
  topLevelImages: number
  /** The TIFF structure of the EXIF item describing the primary image, or null. */
  exif: Uint8Array | null
}

export class HeifParseError extends Error {
  override readonly name = 'HeifParseError'
}

interface Box {
  type: string
  /** Offset of the payload (after size, type and any 64-bit size). */
  start: number
  end: number
}

interface ItemLocation {
  constructionMethod: number
  baseOffset: number
  extents: { offset: number; length: number }[]
}

const IMAGE_ITEM_TYPES = new Set([
  'hvc1',
  'av01',
  'grid',
  'iovl',
  'iden',
  'jpeg',
  'avc1',
  'vvc1',
  'unci',
  'j2k1',
])

export function parseHeif(data: Uint8Array): HeifLayout {
  const reader = new Reader(data)
  const meta = reader.findTopLevel('meta')
  if (!meta) throw new HeifParseError('no meta box')
  const children = reader.boxes(meta.start + 4, meta.end)
  const child = (type: string) => children.find((box) => box.type === type)

  const pitm = child('pitm')
  if (!pitm) throw new HeifParseError('no primary item (pitm)')
  const primaryItemId =
    reader.u8(pitm.start) === 0 ? reader.u16(pitm.start + 4) : reader.u32(pitm.start + 4)

  const items = readItemInfo(reader, child('iinf'))
  const references = readReferences(reader, child('iref'))
  const { properties, associations } = readProperties(reader, child('iprp'))

  const primary = items.get(primaryItemId)
  if (!primary) throw new HeifParseError(`primary item ${primaryItemId} has no infe`)

  let width = 0
  let height = 0
  let displayWidth = 0
  let displayHeight = 0
  let rotation = 0
  for (const index of associations.get(primaryItemId) ?? []) {
    const property = properties[index - 1]
    if (!property) continue
    if (property.type === 'ispe' && width === 0) {
      width = reader.u32(property.start + 4)
      height = reader.u32(property.start + 8)
      displayWidth = width
      displayHeight = height
    } else if (property.type === 'clap' && displayWidth > 0) {
      const cropWidth = ratio(reader.u32(property.start), reader.u32(property.start + 4))
      const cropHeight = ratio(reader.u32(property.start + 8), reader.u32(property.start + 12))
      if (cropWidth >= 1 && cropWidth <= displayWidth) displayWidth = cropWidth
      if (cropHeight >= 1 && cropHeight <= displayHeight) displayHeight = cropHeight
    } else if (property.type === 'irot') {
      const angle = (reader.u8(property.start) & 3) * 90
      rotation = (rotation + angle) % 360
      if (angle % 180 !== 0) [displayWidth, displayHeight] = [displayHeight, displayWidth]
    }
  }
  if (width === 0 || height === 0) throw new HeifParseError('primary item has no ispe')

  const codedType =
    primary.type === 'hvc1' || primary.type === 'av01'
      ? primary.type
      : items.get(references.get('dimg')?.get(primaryItemId)?.[0] ?? -1)?.type
  const codec = codedType === 'hvc1' ? 'hevc' : codedType === 'av01' ? 'av1' : 'other'

  const notTopLevel = new Set<number>()
  for (const type of ['thmb', 'auxl']) {
    for (const from of references.get(type)?.keys() ?? []) notTopLevel.add(from)
  }
  let topLevelImages = 0
  for (const [id, item] of items) {
    if (IMAGE_ITEM_TYPES.has(item.type) && !item.hidden && !notTopLevel.has(id)) topLevelImages++
  }

  return {
    primaryItemId,
    itemType: primary.type,
    codec,
    width,
    height,
    displayWidth,
    displayHeight,
    rotation: rotation as HeifLayout['rotation'],
    topLevelImages,
    exif: readExifItem(reader, children, items, references, primaryItemId),
  }
}

/** The EXIF block, or null when there is none or it cannot be reached (a truncated file). */
function readExifItem(
  reader: Reader,
  children: Box[],
  items: Map<number, { type: string }>,
  references: Map<string, Map<number, number[]>>,
  primaryItemId: number,
): Uint8Array | null {
  try {
    return locateExifItem(reader, children, items, references, primaryItemId)
  } catch (error) {
    if (error instanceof HeifParseError) return null
    throw error
  }
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : Math.round(numerator / denominator)
}

function readItemInfo(
  reader: Reader,
  iinf: Box | undefined,
): Map<number, { type: string; hidden: boolean }> {
  const items = new Map<number, { type: string; hidden: boolean }>()
  if (!iinf) throw new HeifParseError('no item info (iinf)')
  const version = reader.u8(iinf.start)
  const first = iinf.start + 4 + (version === 0 ? 2 : 4)
  for (const infe of reader.boxes(first, iinf.end)) {
    if (infe.type !== 'infe') continue
    const infeVersion = reader.u8(infe.start)
    if (infeVersion < 2) continue
    const hidden = (reader.u8(infe.start + 3) & 1) === 1
    const idSize = infeVersion === 2 ? 2 : 4
    const id = idSize === 2 ? reader.u16(infe.start + 4) : reader.u32(infe.start + 4)
    items.set(id, { type: reader.fourcc(infe.start + 4 + idSize + 2), hidden })
  }
  return items
}

/** reference type -> from item -> to items */
function readReferences(reader: Reader, iref: Box | undefined): Map<string, Map<number, number[]>> {
  const references = new Map<string, Map<number, number[]>>()
  if (!iref) return references
  const wide = reader.u8(iref.start) !== 0
  const idSize = wide ? 4 : 2
  const id = (at: number) => (wide ? reader.u32(at) : reader.u16(at))
  for (const box of reader.boxes(iref.start + 4, iref.end)) {
    const from = id(box.start)
    const count = reader.u16(box.start + idSize)
    const to: number[] = []
    for (let i = 0; i < count; i++) to.push(id(box.start + idSize + 2 + i * idSize))
    const byFrom = references.get(box.type) ?? new Map<number, number[]>()
    byFrom.set(from, to)
    references.set(box.type, byFrom)
  }
  return references
}

function readProperties(
  reader: Reader,
  iprp: Box | undefined,
): { properties: Box[]; associations: Map<number, number[]> } {
  if (!iprp) throw new HeifParseError('no item properties (iprp)')
  const boxes = reader.boxes(iprp.start, iprp.end)
  const ipco = boxes.find((box) => box.type === 'ipco')
  if (!ipco) throw new HeifParseError('no property container (ipco)')
  const properties = reader.boxes(ipco.start, ipco.end)
  const associations = new Map<number, number[]>()
  for (const ipma of boxes.filter((box) => box.type === 'ipma')) {
    const version = reader.u8(ipma.start)
    const wideIndex = (reader.u8(ipma.start + 3) & 1) === 1
    let at = ipma.start + 4
    const entries = reader.u32(at)
    at += 4
    for (let i = 0; i < entries; i++) {
      const itemId = version < 1 ? reader.u16(at) : reader.u32(at)
      at += version < 1 ? 2 : 4
      const count = reader.u8(at)
      at += 1
      const indices = associations.get(itemId) ?? []
      for (let j = 0; j < count; j++) {
        indices.push(wideIndex ? reader.u16(at) & 0x7fff : reader.u8(at) & 0x7f)
        at += wideIndex ? 2 : 1
      }
      associations.set(itemId, indices)
    }
  }
  return { properties, associations }
}

function locateExifItem(
  reader: Reader,
  children: Box[],
  items: Map<number, { type: string }>,
  references: Map<string, Map<number, number[]>>,
  primaryItemId: number,
): Uint8Array | null {
  const exifIds = [...items].filter(([, item]) => item.type === 'Exif').map(([id]) => id)
  if (exifIds.length === 0) return null
  const describes = references.get('cdsc')
  const id =
    exifIds.find((exifId) => describes?.get(exifId)?.includes(primaryItemId)) ?? exifIds[0]!
  const iloc = children.find((box) => box.type === 'iloc')
  const location = iloc ? readLocations(reader, iloc).get(id) : undefined
  if (!location) return null
  const idat = children.find((box) => box.type === 'idat')
  const parts: Uint8Array[] = []
  for (const extent of location.extents) {
    let start: number
    let limit: number
    if (location.constructionMethod === 0) {
      start = location.baseOffset + extent.offset
      limit = reader.length
    } else if (location.constructionMethod === 1 && idat) {
      start = idat.start + location.baseOffset + extent.offset
      limit = idat.end
    } else {
      return null
    }
    const end = extent.length === 0 ? limit : start + extent.length
    if (start < 0 || end > limit || end < start)
      throw new HeifParseError('EXIF extent out of range')
    parts.push(reader.bytes(start, end))
  }
  const block = parts.length === 1 ? parts[0]! : concat(parts)
  // The item starts with a 32-bit offset to the TIFF header, which usually skips "Exif\0\0".
  if (block.length < 4) return null
  const tiffStart = 4 + new DataView(block.buffer, block.byteOffset, 4).getUint32(0)
  if (tiffStart + 8 > block.length) return null
  return block.subarray(tiffStart)
}

function readLocations(reader: Reader, iloc: Box): Map<number, ItemLocation> {
  const version = reader.u8(iloc.start)
  let at = iloc.start + 4
  const sizes = reader.u8(at)
  const moreSizes = reader.u8(at + 1)
  at += 2
  const offsetSize = sizes >> 4
  const lengthSize = sizes & 15
  const baseOffsetSize = moreSizes >> 4
  const indexSize = version === 1 || version === 2 ? moreSizes & 15 : 0
  const itemCount = version < 2 ? reader.u16(at) : reader.u32(at)
  at += version < 2 ? 2 : 4
  const locations = new Map<number, ItemLocation>()
  for (let i = 0; i < itemCount; i++) {
    const itemId = version < 2 ? reader.u16(at) : reader.u32(at)
    at += version < 2 ? 2 : 4
    let constructionMethod = 0
    if (version === 1 || version === 2) {
      constructionMethod = reader.u16(at) & 15
      at += 2
    }
    at += 2 // data_reference_index
    const baseOffset = reader.uint(at, baseOffsetSize)
    at += baseOffsetSize
    const extentCount = reader.u16(at)
    at += 2
    const extents: ItemLocation['extents'] = []
    for (let j = 0; j < extentCount; j++) {
      at += indexSize
      const offset = reader.uint(at, offsetSize)
      at += offsetSize
      const length = reader.uint(at, lengthSize)
      at += lengthSize
      extents.push({ offset, length })
    }
    locations.set(itemId, { constructionMethod, baseOffset, extents })
  }
  return locations
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

class Reader {
  private readonly view: DataView

  constructor(private readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  }

  get length(): number {
    return this.data.length
  }

  private check(at: number, size: number): void {
    if (at < 0 || at + size > this.data.length) {
      throw new HeifParseError(`read of ${size} bytes at ${at} is outside the file`)
    }
  }

  u8(at: number): number {
    this.check(at, 1)
    return this.view.getUint8(at)
  }

  u16(at: number): number {
    this.check(at, 2)
    return this.view.getUint16(at)
  }

  u32(at: number): number {
    this.check(at, 4)
    return this.view.getUint32(at)
  }

  uint(at: number, size: number): number {
    if (size === 0) return 0
    if (size === 4) return this.u32(at)
    if (size === 8) {
      this.check(at, 8)
      const value = this.view.getBigUint64(at)
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new HeifParseError('offset too large')
      return Number(value)
    }
    throw new HeifParseError(`unsupported field size ${size}`)
  }

  fourcc(at: number): string {
    this.check(at, 4)
    return String.fromCharCode(...this.data.subarray(at, at + 4))
  }

  bytes(start: number, end: number): Uint8Array {
    this.check(start, end - start)
    return this.data.subarray(start, end)
  }

  /**
   * The first top-level box of a type. Only the boxes before it must be whole, so a file cut short
   * in its media data (`mdat`) still yields its header.
   */
  findTopLevel(type: string): Box | undefined {
    let at = 0
    while (at + 8 <= this.data.length) {
      let size = this.u32(at)
      const found = this.fourcc(at + 4)
      let header = 8
      if (size === 1) {
        size = this.uint(at + 8, 8)
        header = 16
      } else if (size === 0) {
        size = this.data.length - at
      }
      if (size < header) return undefined
      if (found === type) {
        if (at + size > this.data.length) throw new HeifParseError(`box ${type} is truncated`)
        return { type, start: at + header, end: at + size }
      }
      at += size
    }
    return undefined
  }

  /** The boxes laid end to end in [start, end). */
  boxes(start: number, end: number): Box[] {
    const boxes: Box[] = []
    let at = start
    while (at + 8 <= end) {
      let size = this.u32(at)
      const type = this.fourcc(at + 4)
      let header = 8
      if (size === 1) {
        size = this.uint(at + 8, 8)
        header = 16
      } else if (size === 0) {
        size = end - at
      }
      if (size < header || at + size > end) throw new HeifParseError(`box ${type} overruns`)
      boxes.push({ type, start: at + header, end: at + size })
      at += size
    }
    return boxes
  }
}
