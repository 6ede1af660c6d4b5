import type { WatermarkConfig } from '../../config.js'
import { loadSharp } from './load-sharp.js'

/**
 * The watermark laid over a variant: the configured text drawn as SVG (rendered by librsvg inside
 * sharp), or the configured image scaled to a quarter of the variant's width. Opacity is baked
 * into the overlay's alpha, since sharp's composite has no opacity of its own. The overlay never
 * exceeds the variant, which sharp's composite requires.
 */
export interface Overlay {
  input: Buffer
  gravity: string
}

const GRAVITY: Record<WatermarkConfig['gravity'], string> = {
  center: 'centre',
  southeast: 'southeast',
  southwest: 'southwest',
  northeast: 'northeast',
  northwest: 'northwest',
}

export async function makeWatermarkOverlay(
  watermark: WatermarkConfig,
  width: number,
  height: number,
): Promise<Overlay> {
  const gravity = GRAVITY[watermark.gravity]
  if (watermark.image) {
    return { input: await imageOverlay(watermark.image, watermark.opacity, width, height), gravity }
  }
  return { input: Buffer.from(textOverlay(watermark, width, height)), gravity }
}

async function imageOverlay(
  image: Uint8Array,
  opacity: number,
  width: number,
  height: number,
): Promise<Buffer> {
  const margin = Math.floor(Math.min(width, height) * 0.02)
  const sharp = await loadSharp()
  return sharp(image)
    .resize(Math.max(1, Math.round(width / 4)), Math.max(1, height - 2 * margin), {
      fit: 'inside',
    })
    .ensureAlpha()
    .linear([1, 1, 1, opacity], [0, 0, 0, 0])
    .extend({
      top: margin,
      bottom: margin,
      left: margin,
      right: margin,
      background: { r: 0, g: 0, b: 0, alpha: 0 },
    })
    .png()
    .toBuffer()
}

function textOverlay(watermark: WatermarkConfig, width: number, height: number): string {
  const fontSize = Math.max(6, Math.round(Math.min(width / 18, height / 4)))
  const boxHeight = Math.min(height, Math.ceil(fontSize * 1.8))
  const margin = Math.round(fontSize * 0.6)
  const [anchor, x] = watermark.gravity.endsWith('east')
    ? ['end', width - margin]
    : watermark.gravity.endsWith('west')
      ? ['start', margin]
      : ['middle', width / 2]
  const stroke = Math.max(1, fontSize / 20)
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${boxHeight}">` +
    `<text x="${x}" y="${Math.round(boxHeight / 2)}" dominant-baseline="central" ` +
    `text-anchor="${anchor}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" ` +
    `font-size="${fontSize}" font-weight="bold" fill="#ffffff" ` +
    `fill-opacity="${watermark.opacity}" stroke="#000000" ` +
    `stroke-opacity="${watermark.opacity / 2}" stroke-width="${stroke}">` +
    `${escapeXml(watermark.text ?? '')}</text></svg>`
  )
}

/** Escapes markup, and drops the control characters XML 1.0 forbids (librsvg would refuse). */
function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`)
}
