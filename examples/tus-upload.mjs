// Resumable upload with tus-js-client, interrupted half-way and resumed:
//   DARKROOM_URL=http://127.0.0.1:3000 DARKROOM_KEY=sk_... node examples/tus-upload.mjs [photo.jpg]
import { readFile } from 'node:fs/promises'
import sharp from 'sharp'
import * as tus from 'tus-js-client'

const url = process.env.DARKROOM_URL ?? 'http://127.0.0.1:3000'
const headers = { authorization: `Bearer ${process.env.DARKROOM_KEY}` }
const data = process.argv[2]
  ? await readFile(process.argv[2])
  : await sharp({
      create: {
        width: 4000,
        height: 3000,
        channels: 3,
        noise: { type: 'gaussian', mean: 120, sigma: 40 },
      },
    })
      .jpeg({ quality: 90 })
      .toBuffer()

function start(onProgress) {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(data, {
      endpoint: `${url}/files`,
      headers,
      chunkSize: 1024 * 1024,
      metadata: { filename: 'tus-demo.jpg' },
      // Remember the upload URL so that a second start resumes instead of starting over.
      urlStorage: memoryUrlStorage,
      fingerprint: async () => 'tus-demo',
      onProgress: (sent, total) => onProgress(upload, sent, total),
      onAfterResponse: (req, res) => {
        const id = res.getHeader('Darkroom-Photo-Id')
        if (id) upload.photoId = id
      },
      onSuccess: () => resolve(upload),
      onError: reject,
    })
    upload.findPreviousUploads().then((previous) => {
      if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0])
      upload.start()
    })
  })
}

const stored = new Map()
const memoryUrlStorage = {
  findAllUploads: async () => [...stored.values()],
  findUploadsByFingerprint: async (fp) => (stored.has(fp) ? [stored.get(fp)] : []),
  removeUpload: async (key) => stored.delete(key),
  addUpload: async (fp, upload) => (stored.set(fp, { ...upload, urlStorageKey: fp }), fp),
}

// First attempt: abort at about half.
await new Promise((resolve) => {
  start((upload, sent, total) => {
    if (sent >= total / 2) {
      upload.abort()
      console.log(`aborted at ${sent} of ${total} bytes`)
      resolve()
    }
  }).catch(() => {})
})
// Second attempt: resumes from the server's offset.
let resumedFrom = null
const done = await start((_upload, sent) => (resumedFrom ??= sent))
console.log(`resumed at ${resumedFrom} bytes; finished: ${done.url}`)
console.log(`photo id: ${done.photoId}`)
