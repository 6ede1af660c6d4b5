/**
 * Names of the entries in an album's zip, from the photos' filenames: each one a single safe
 * path segment that unpacks where the user asked on every system, and unique in the archive.
 *
 * - The last path segment only (`../../etc/passwd` → `passwd`), so nothing unpacks outside
 *   the target folder; no control or bidi-override characters; characters Windows refuses
 *   in names (`<>:"/\|?*`) become `_`; no trailing dots or spaces (Windows drops them, which
 *   would merge two names); a reserved device name (`CON`, `NUL`, `COM1` ...) gets a `_` in front.
 * - At most 200 UTF-16 units, the extension kept.
 * - The extension is the rendition's (`IMG_1.HEIC` downloaded as `large` is `IMG_1.webp`).
 * - Empty or dots only: `photo-<id>`.
 * - Unique ignoring case (macOS and Windows file systems): a repeat becomes `name (2).jpg`,
 *   `name (3).jpg` ..., skipping any name another photo already has.
 */
export function zipEntryNames(
  entries: readonly { photoId: string; filename: string; extension: string }[],
): string[] {
  const taken = new Set<string>()
  const bases = entries.map((entry) => safeName(entry.filename, entry.extension, entry.photoId))
  // Names as given are claimed first, so `a (2).jpg` keeps its name over a second `a.jpg`.
  const wanted = new Set(bases.map((name) => name.toLowerCase()))
  return bases.map((name) => {
    let candidate = name
    if (taken.has(candidate.toLowerCase())) {
      const dot = name.lastIndexOf('.')
      const stem = dot > 0 ? name.slice(0, dot) : name
      const ext = dot > 0 ? name.slice(dot) : ''
      for (let n = 2; ; n++) {
        candidate = `${stem} (${n})${ext}`
        const key = candidate.toLowerCase()
        if (!taken.has(key) && !wanted.has(key)) break
      }
    }
    taken.add(candidate.toLowerCase())
    return candidate
  })
}

const MAX_NAME = 200
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i

function safeName(filename: string, extension: string, photoId: string): string {
  const last = filename.split(/[\\/]/).pop() ?? ''
  const cleaned = last
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .replace(/[<>:"|?*]/g, '_')
    .trim()
  const dot = cleaned.lastIndexOf('.')
  let stem = (dot > 0 ? cleaned.slice(0, dot) : cleaned).replace(/[. ]+$/, '')
  if (/^\.*$/.test(stem)) stem = `photo-${photoId}`
  if (RESERVED.test(stem)) stem = `_${stem}`
  const ext = `.${extension}`
  return `${stem.slice(0, MAX_NAME - ext.length)}${ext}`
}
