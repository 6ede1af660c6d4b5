import { createNodeServer } from '../../../../examples/mounting/node-http.js'
import { createDarkroomHandler } from '../handler.js'
import { describeMountContract, listenMounted } from './mount.contract.js'

// Plain node:http: `handler.node(req, res, next)`, the app's routes behind `next`.
describeMountContract({
  name: 'node:http',
  async start({ handlerOptions }) {
    const handler = createDarkroomHandler(handlerOptions)
    return listenMounted(createNodeServer(handler), handler)
  },
})
