import { Writable } from 'node:stream'
import { makeJpeg } from '@darkroom/core/testing'
import { signUrl } from '@darkroom/http'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, uploadForm, type TestServer } from '../testing/harness.js'
import { redactUrl } from './request-log.js'
import { labelRequest } from './route-label.js'

/**
 * The request log over a real server: one line per request (refusals included) with method,
 * route label, status and duration, and no credential anywhere in it.
 */

interface Line {
  level: number
  msg: string
  module?: string
  route?: string
  responseTime?: number
  req?: { id: unknown; method: string; url: string; remoteAddress?: string }
  res?: { statusCode: number }
}

let server: TestServer
let key: string
const written: string[] = []
const requestLines = () =>
  written.map((text) => JSON.parse(text) as Line).filter((line) => line.module === 'requests')

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    },
  })
  server = await startServer({
    compose: { logger: pino({ level: 'debug', base: undefined }, sink) },
  })
  key = await server.key('alice')
})
afterAll(() => server.close())

describe('request log', () => {
  it('writes one line per request with route, status and duration; refusals at warn', async () => {
    written.length = 0
    const auth = { authorization: `Bearer ${key}` }
    const { uploaded } = await server
      .client(key)
      .photos.upload.mutate(
        uploadForm([{ name: 'a.jpg', data: await makeJpeg({ width: 64, height: 48, seed: 3 }) }]),
      )
    const id = uploaded[0]!.id
    await fetch(`${server.url}/trpc/albums.list`, { headers: auth })
    await fetch(`${server.url}/trpc/albums.list`)
    await fetch(`${server.url}/image/${id}.jpg?w=32`, { headers: auth })
    await fetch(`${server.url}/healthz`)

    const lines = requestLines()
    expect(lines.map((l) => [l.msg, l.level])).toEqual([
      ['POST photos.upload 200', 30],
      ['GET albums.list 200', 30],
      ['GET albums.list 401', 40],
      // Pictures and probes are logged at debug when they succeed.
      ['GET image 200', 20],
      ['GET healthz 200', 20],
    ])
    for (const line of lines) {
      expect(line.route).toBe(line.msg.split(' ')[1])
      expect(line.res?.statusCode).toBe(Number(line.msg.split(' ')[2]))
      expect(line.responseTime).toBeGreaterThanOrEqual(0)
      expect(Object.keys(line.req ?? {}).sort()).toEqual(['id', 'method', 'remoteAddress', 'url'])
    }
    expect(lines[3]!.req!.url).toBe(`/image/${id}.jpg?w=32`)
  })

  it('never writes a key, a cookie, a signature or a tRPC input', async () => {
    written.length = 0
    const signed = signUrl(
      server.app.signingSecret,
      '/image/nope.jpg',
      { w: 64 },
      new Date(Date.now() + 60_000),
    )
    const input = encodeURIComponent(JSON.stringify({ 0: { search: 'my secret search' } }))
    await fetch(`${server.url}/trpc/photos.list?batch=1&input=${input}`, {
      headers: {
        authorization: `Bearer ${key}`,
        cookie: `darkroom_session=ds_${key.slice(3)}; theme=dark`,
      },
    })
    await fetch(`${server.url}/photos/nope/small.webp?key=${key}`)
    await fetch(`${server.url}${signed}`)
    await fetch(`${server.url}/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
    })

    const lines = requestLines()
    expect(lines).toHaveLength(4)
    const text = written.join('\n')
    expect(text).not.toContain(key)
    expect(text).not.toContain(key.slice(3))
    expect(text).not.toMatch(/authorization|cookie|bearer/i)
    expect(text).not.toContain('my secret search')
    const sig = new URL(signed, server.url).searchParams.get('sig')!
    expect(text).not.toContain(sig)
    expect(lines[0]!.req!.url).toBe('/trpc/photos.list?batch=1&input=[REDACTED]')
    expect(lines[1]!.req!.url).toBe('/photos/nope/small.webp?key=[REDACTED]')
    expect(lines[2]!.req!.url).toMatch(/^\/image\/nope\.jpg\?.*sig=\[REDACTED\]/)
    expect(lines[3]!.msg).toBe('POST session 200')
  })
})

describe('redactUrl', () => {
  it('hides sk_ keys anywhere and credential parameters, keeping the rest', () => {
    const key = `sk_${'a1'.repeat(20)}`
    expect(redactUrl(`/x/${key}/y?w=1`)).toBe('/x/sk_[REDACTED]/y?w=1')
    expect(redactUrl(`/x?token=abc&w=2&Sig=ff&input=%7B%7D`)).toBe(
      '/x?token=[REDACTED]&w=2&Sig=[REDACTED]&input=[REDACTED]',
    )
    expect(redactUrl('/plain')).toBe('/plain')
    expect(redactUrl(undefined)).toBe('')
  })
})

describe('labelRequest', () => {
  const procedures = new Set(['photos.list', 'albums.list', 'photos.upload'])
  const label = (method: string, url: string) => labelRequest({ method, url }, procedures).route

  it('names routes and known procedures only', () => {
    expect(label('GET', '/trpc/photos.list?input=x')).toBe('photos.list')
    expect(label('GET', '/trpc/photos.list,photos.list')).toBe('photos.list')
    expect(label('GET', '/trpc/photos.list,albums.list')).toBe('trpc')
    expect(label('GET', '/trpc/photos.list,evil')).toBe('unknown')
    expect(label('GET', '/trpc')).toBe('unknown')
    expect(label('PATCH', '/files/abc123')).toBe('files')
    expect(label('GET', '/image/abc.jpg?w=1')).toBe('image')
    expect(label('GET', '/photos/abc/small.webp')).toBe('photos')
    expect(label('GET', '/healthz')).toBe('healthz')
    expect(label('POST', '/session')).toBe('session')
    expect(label('GET', '/api/v1/photos')).toBe('api')
    expect(label('DELETE', '/api/darkroom/v1/photos/abc')).toBe('api')
    expect(label('GET', '/apix')).toBe('gallery')
    expect(label('GET', '/metrics')).toBe('metrics')
    expect(label('GET', '/metricsx')).toBe('gallery')
    expect(label('GET', '/albums/123')).toBe('gallery')
    expect(label('PUT', '/albums/123')).toBe('unknown')
    expect(labelRequest({ method: 'GET', url: '/trpc/a,b' }, procedures).procedures).toEqual([])
    expect(
      labelRequest({ method: 'GET', url: '/trpc/photos.list,photos.list' }, procedures).procedures,
    ).toEqual(['photos.list', 'photos.list'])
  })
})
