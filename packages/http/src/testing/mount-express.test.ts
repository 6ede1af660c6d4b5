import { createServer } from 'node:http'
import { createExpressApp } from '../../../../examples/mounting/express.js'
import { createDarkroomHandler } from '../handler.js'
import { describeMountContract, listenMounted } from './mount.contract.js'

// Express 5: `app.use('/media', handler.node)`, the app's own route beside it.
describeMountContract({
  name: 'Express 5',
  async start({ handlerOptions }) {
    const handler = createDarkroomHandler(handlerOptions)
    return listenMounted(createServer(createExpressApp(handler)), handler)
  },
})
