import { it } from 'vitest'

/** What an adapter declares to a contract suite. */
export interface ContractCapabilities {
  /**
   * Cases this adapter cannot pass, by their exact name, each with the reason it is skipped.
   * The reason shows in the test report next to the skipped case.
   */
  skip?: Record<string, string>
}

/** `it`, except that a case listed in `capabilities.skip` is skipped with its reason. */
export function caseRunner(capabilities: ContractCapabilities = {}) {
  return (name: string, fn: () => Promise<void>) => {
    const reason = capabilities.skip?.[name]
    if (reason !== undefined) it.skip(`${name} (skipped: ${reason})`, fn)
    else it(name, fn)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
