import { MemoryBlobStore, MemoryMetadataStore, MemoryServerStore } from '@darkroom/core/testing'
import { describeBlobStoreContract } from './blob-store.contract.js'
import { describeMetadataStoreContract } from './metadata-store.contract.js'
import { describeServerStoreContract } from './server-store.contract.js'

// The fakes core's own tests use, held to the same contract as the real adapters.
describeMetadataStoreContract({
  name: 'MemoryMetadataStore',
  create: () => new MemoryMetadataStore(),
  cleanup: (store) => store.close(),
})

describeBlobStoreContract({
  name: 'MemoryBlobStore',
  create: () => new MemoryBlobStore(),
  cleanup: (store) => store.close?.(),
})

describeServerStoreContract({
  name: 'MemoryServerStore',
  create: () => new MemoryServerStore(),
})
