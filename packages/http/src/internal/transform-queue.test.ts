import { describe, expect, it } from 'vitest'
import { HttpProblem } from '../errors.js'
import { TransformQueue } from './transform-queue.js'

/** The image route's admission: single flight, a bounded queue, and runs their clients left. */

function gate() {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { open, opened }
}

describe('TransformQueue', () => {
  it('runs a burst of identical keys once', async () => {
    const queue = new TransformQueue({ maxConcurrent: 1, maxQueue: 0 })
    let runs = 0
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        queue.run('k', async () => {
          runs++
          return 'done'
        }),
      ),
    )
    expect(results).toEqual(Array(20).fill('done'))
    expect(runs).toBe(1)
  })

  it('answers 503 with Retry-After past the queue', async () => {
    const queue = new TransformQueue({ maxConcurrent: 1, maxQueue: 1 })
    const { open, opened } = gate()
    const first = queue.run('a', () => opened)
    const second = queue.run('b', async () => undefined)
    let refused: unknown
    try {
      await queue.run('c', async () => undefined)
    } catch (error) {
      refused = error
    }
    expect(refused).toBeInstanceOf(HttpProblem)
    expect(refused).toMatchObject({ status: 503, headers: { 'Retry-After': '1' } })
    open()
    await Promise.all([first, second])
    expect([queue.active, queue.waiting]).toEqual([0, 0])
  })

  it('never starts a waiting run whose every client has gone, and frees its place', async () => {
    const queue = new TransformQueue({ maxConcurrent: 1, maxQueue: 1 })
    const { open, opened } = gate()
    const first = queue.run('a', () => opened)
    let started = false
    const clients = [new AbortController(), new AbortController()]
    const waiting = clients.map((c) =>
      queue.run(
        'b',
        async () => {
          started = true
        },
        c.signal,
      ),
    )
    clients[0]!.abort(new Error('gone'))
    await expect(waiting[0]).rejects.toThrow('gone')
    expect(queue.waiting).toBe(1) // the other client still waits for it
    clients[1]!.abort(new Error('gone'))
    await expect(waiting[1]).rejects.toThrow('gone')
    expect(queue.waiting).toBe(0)
    // Its place is free again: another run may wait.
    const other = queue.run('c', async () => 'c')
    open()
    await first
    expect(await other).toBe('c')
    expect(started).toBe(false)
  })

  it('tells a started run through its signal when its last client has gone', async () => {
    const queue = new TransformQueue({ maxConcurrent: 1, maxQueue: 1 })
    const { open, opened } = gate()
    let seen: AbortSignal | undefined
    const client = new AbortController()
    const run = queue.run(
      'a',
      async (signal) => {
        seen = signal
        await opened
      },
      client.signal,
    )
    client.abort(new Error('gone'))
    await expect(run).rejects.toThrow('gone')
    expect(seen?.aborted).toBe(true)
    // A new request for the key starts afresh, once the slot is free.
    const again = queue.run('a', async (signal) => signal.aborted)
    open()
    expect(await again).toBe(false)
  })
})
