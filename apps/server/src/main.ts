#!/usr/bin/env node
import { serve } from './serve.js'

/** `npm start`: the server with its config from the environment. */
await serve()
