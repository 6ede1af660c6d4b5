// Calls a running Darkroom server with the typed tRPC client:
//   DARKROOM_URL=http://127.0.0.1:3000 DARKROOM_KEY=sk_... npx tsx examples/client.ts
import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  isNonJsonSerializable,
  splitLink,
} from '@trpc/client'
import type { AppRouter } from '@darkroom/trpc'
import sharp from 'sharp'

const url = process.env.DARKROOM_URL ?? 'http://127.0.0.1:3000'
const headers = { authorization: `Bearer ${process.env.DARKROOM_KEY}` }
const trpc = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      // FormData (photos.upload) goes in its own request; everything else is batched.
      condition: (op) => isNonJsonSerializable(op.input),
      true: httpLink({ url: `${url}/trpc`, headers }),
      false: httpBatchLink({ url: `${url}/trpc`, headers }),
    }),
  ],
})

const album = await trpc.albums.create.mutate({ title: 'Client demo', photoCap: 100 })
const photo = await sharp({
  create: { width: 1600, height: 1200, channels: 3, background: '#2f6f4f' },
})
  .jpeg()
  .toBuffer()
const form = new FormData()
form.append('albumId', album.id)
form.append('files', new File([photo], 'green.jpg', { type: 'image/jpeg' }))
form.append('files', new File([Buffer.from('%PDF-1.4 not a photo')], 'notes.jpg'))
const { uploaded, skipped } = await trpc.photos.upload.mutate(form)
console.log(
  'uploaded:',
  uploaded.map((p) => ({ id: p.id, filename: p.filename, width: p.width, height: p.height })),
)
console.log('skipped:', skipped)

const page = await trpc.photos.list.query({ albumId: album.id, sort: 'position', limit: 10 })
console.log('list:', { total: page.total, first: page.items[0]?.variants })

try {
  await trpc.photos.get.query({ id: '00000000-0000-7000-8000-000000000000' })
} catch (error) {
  const e = error as { message: string; data?: { httpStatus?: number; darkroom?: unknown } }
  console.log('get (missing):', {
    status: e.data?.httpStatus,
    message: e.message,
    darkroom: e.data?.darkroom,
  })
}
