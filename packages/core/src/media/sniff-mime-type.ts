export interface SniffedType {
  mimeType: string
  ext: string
}

/**
 * file-type's names that differ from the ones config and photos use: AVI is `video/vnd.avi`
 * there (IANA) but `video/x-msvideo` everywhere browsers look; an M4V is an MP4.
 */
const CANONICAL_MIME_TYPES: Readonly<Record<string, string>> = {
  'video/vnd.avi': 'video/x-msvideo',
  'video/x-m4v': 'video/mp4',
}

/** How many leading bytes are enough for `sniffMimeType` (more are fine, and never all read). */
export const SNIFF_BYTES = 4100

/**
 * The type of a file from its first bytes (magic numbers via file-type), never from its name.
 * Text that file-type leaves alone is named by a best guess (`text/html`, `image/svg+xml`,
 * `application/rdf+xml` for XMP, `application/xml`, `application/json`, `text/plain`) so a refusal
 * can say what was sent. Null for binary data nobody recognises.
 *
 * @example
 * const sniffed = await sniffMimeType(bytes.subarray(0, SNIFF_BYTES))
 * // { mimeType: 'image/jpeg', ext: 'jpg' }
 */
export async function sniffMimeType(head: Uint8Array): Promise<SniffedType | null> {
  // Loaded on first use, like sharp (see internal/load-sharp.ts): file-type and its tokenizers
  // are some 30 modules that a start need not read.
  const { fileTypeFromBuffer } = await import('file-type')
  const detected = await fileTypeFromBuffer(head)
  // file-type calls every XML document application/xml; SVG and XMP deserve their own names.
  if (detected && detected.mime !== 'application/xml') {
    return { mimeType: CANONICAL_MIME_TYPES[detected.mime] ?? detected.mime, ext: detected.ext }
  }
  const guessed = guessTextType(head.subarray(0, SNIFF_BYTES))
  return guessed ?? (detected ? { mimeType: detected.mime, ext: detected.ext } : null)
}

function guessTextType(bytes: Uint8Array): SniffedType | null {
  if (bytes.length === 0) return null
  for (const byte of bytes) {
    // Control characters other than tab, newline, form feed and carriage return mean binary.
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20 && byte !== 0x1b)) return null
  }
  const text = new TextDecoder('utf-8')
    .decode(bytes)
    .replace(/^\uFEFF/, '')
    .trimStart()
  const lower = text.slice(0, 2048).toLowerCase()
  if (lower.startsWith('<?xpacket') || lower.includes('<x:xmpmeta') || lower.includes('<rdf:rdf')) {
    return { mimeType: 'application/rdf+xml', ext: 'xmp' }
  }
  const html = { mimeType: 'text/html', ext: 'html' }
  if (lower.startsWith('<!doctype html') || lower.startsWith('<html')) return html
  if (lower.includes('<svg')) return { mimeType: 'image/svg+xml', ext: 'svg' }
  if (/<(html|head|body)[\s>]/.test(lower)) return html
  if (lower.startsWith('<?xml')) return { mimeType: 'application/xml', ext: 'xml' }
  if (lower.startsWith('{') || lower.startsWith('[')) {
    return { mimeType: 'application/json', ext: 'json' }
  }
  return { mimeType: 'text/plain', ext: 'txt' }
}
