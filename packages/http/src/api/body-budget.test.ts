import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpProblem } from '../errors.js'
import { BodyBudget } from './body-budget.js'
import { receiveForm } from './multipart.js'

const post = (headers: Record<string, string>, body: RequestInit['body'] = 'x') =>
  new Request('http://x/upload', { method: 'POST', headers, body, duplex: 'half' } as RequestInit)

const problemOf = (fn: () => void) => {
  try {
    fn()
  } catch (error) {
    return error as HttpProblem
  }
  return null
}

describe('BodyBudget', () => {
  it('reserves declared lengths, refuses what does not fit now (503) or ever (413), and gives back', () => {
    const budget = new BodyBudget(100)
    const a = post({ 'content-length': '60' })
    const b = post({ 'content-length': '60' })
    budget.open(a)
    expect(budget.used).toBe(60)
    const busy = problemOf(() => budget.open(b))
    expect(busy).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' })
    expect(busy!.headers).toEqual({ 'Retry-After': '1' })
    expect(problemOf(() => budget.open(post({ 'content-length': '101' })))).toMatchObject({
      status: 413,
      message: expect.stringContaining('over the 100 bytes the server takes in at once'),
    })
    budget.close(a)
    budget.close(a)
    expect(budget.used).toBe(0)
    budget.open(b)
    expect(budget.used).toBe(60)
  })

  it('counts a body without a length as it arrives, and cuts it off past the room left', () => {
    const budget = new BodyBudget(100)
    const chunked = post({ 'transfer-encoding': 'chunked' })
    budget.open(chunked)
    expect(budget.used).toBe(0)
    budget.count(chunked, 40)
    budget.count(chunked, 30) // already reserved
    expect(budget.used).toBe(40)
    budget.open(post({ 'content-length': '50' }))
    expect(problemOf(() => budget.count(chunked, 51))).toMatchObject({ status: 503 })
    expect(budget.used).toBe(90)
  })

  it('reserves nothing for a request without a body, or one it did not open', () => {
    const budget = new BodyBudget(10)
    budget.open(new Request('http://x/'))
    budget.open(post({ 'content-length': '0' }))
    budget.count(post({}), 1_000)
    expect(budget.used).toBe(0)
  })
})

describe('receiveForm under a budget', () => {
  let dir: string | undefined
  afterEach(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined))

  it('stops a streamed form that passes the room left with 503 and removes its files', async () => {
    dir = await mkdtemp(join(tmpdir(), 'darkroom-budget-'))
    const budget = new BodyBudget(64 * 1024)
    const boundary = 'b0undary'
    const chunks = [
      `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n`,
      ...Array.from({ length: 8 }, () => 'z'.repeat(16 * 1024)),
      `\r\n--${boundary}--\r\n`,
    ]
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift()
        if (next === undefined) controller.close()
        else controller.enqueue(new TextEncoder().encode(next))
      },
    })
    const request = post({ 'content-type': `multipart/form-data; boundary=${boundary}` }, body)
    budget.open(request)
    const options = { directory: dir, maxFileBytes: 1e6, maxFiles: 1, maxBodyBytes: 1e6 }
    const error = await receiveForm(request, { ...options, fileFields: ['files'], budget }).catch(
      (e: unknown) => e,
    )
    expect(error).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' })
    expect(await readdir(dir)).toEqual([])
    budget.close(request)
    expect(budget.used).toBe(0)
  })
})
