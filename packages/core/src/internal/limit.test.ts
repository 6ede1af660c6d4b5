import { describe, expect, it } from 'vitest'
import { Budget } from './limit.js'

describe('Budget', () => {
  const hold = () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    return { gate, release }
  }

  it('runs tasks whose parts fit together, and makes the next wait for its part', async () => {
    const budget = new Budget(100)
    const a = hold()
    const b = hold()
    const order: string[] = []
    const first = budget.run(60, async () => (order.push('a'), a.gate))
    const second = budget.run(40, async () => (order.push('b'), b.gate))
    const third = budget.run(30, async () => void order.push('c'))
    await Promise.resolve()
    expect(order).toEqual(['a', 'b'])
    expect(budget.stats()).toEqual({ used: 100, waiting: 1, total: 100 })
    b.release()
    await second
    await third
    expect(order).toEqual(['a', 'b', 'c'])
    a.release()
    await first
    expect(budget.stats()).toEqual({ used: 0, waiting: 0, total: 100 })
  })

  it('keeps arrival order: a large part is not passed by small ones behind it', async () => {
    const budget = new Budget(100)
    const a = hold()
    const order: string[] = []
    const first = budget.run(50, () => a.gate)
    const large = budget.run(80, async () => void order.push('large'))
    const small = budget.run(10, async () => void order.push('small'))
    await Promise.resolve()
    expect(order).toEqual([])
    a.release()
    await Promise.all([first, large, small])
    expect(order).toEqual(['large', 'small'])
  })

  it('runs a part larger than the whole alone, and frees it when the task throws', async () => {
    const budget = new Budget(100)
    await expect(
      budget.run(1_000, async () => {
        expect(budget.stats().used).toBe(100)
        throw new Error('decode failed')
      }),
    ).rejects.toThrow('decode failed')
    expect(budget.stats()).toEqual({ used: 0, waiting: 0, total: 100 })
  })
})
