import { stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { NodeResponse } from 'srvx/node'
import { bodyResponse, isNotModified, notModified } from '../internal/body-response.js'
import { notFound } from '../router.js'
import type { OpenApiDocument } from './openapi.js'

/**
 * `GET /api/docs`: the OpenAPI document as a page people read and try, rendered by Swagger UI
 * (`swagger-ui-dist`, Apache-2.0) from files this handler serves itself: no CDN, nothing
 * fetched from elsewhere (its online validator badge is off). `swagger-ui-dist` is an optional
 * peer dependency (13 MB unpacked, one 1.8 MB script served): without it the page is a plain
 * list of the operations with a link to the document. The page runs no inline script, so its
 * Content-Security-Policy allows scripts from this origin only.
 */

export interface DocsPageOptions {
  /** Public path of the page, e.g. `/media/api/docs`; its files are under it. */
  pagePath: string
  /** Public path of the OpenAPI document. */
  documentPath: string
  document(): OpenApiDocument
  /** swagger-ui-dist's folder; default: found from this package; null: use the plain page. */
  swaggerUiDir?: string | null
}

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

// Static: the document's URL comes from the page (`data-document`), so this file never varies.
const INIT_JS = `window.addEventListener('load', function () {
  var root = document.getElementById('docs')
  window.ui = SwaggerUIBundle({
    url: root.getAttribute('data-document'),
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  })
})
`

export interface DocsPage {
  /** The page (`/api/docs`, `/api/docs/`). */
  page(request: Request): Response
  /** One of its files (`/api/docs/<name>`). */
  asset(request: Request, name: string): Promise<Response>
}

export function createDocsPage(options: DocsPageOptions): DocsPage {
  const dir = options.swaggerUiDir === undefined ? findSwaggerUi() : options.swaggerUiDir
  const html = (body: string, status = 200) =>
    new NodeResponse(body, {
      status,
      headers: {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-cache',
      },
    })
  return {
    page() {
      return html(dir ? swaggerPage(options) : plainPage(options))
    },
    async asset(request, name) {
      if (name === 'init.js') {
        return new NodeResponse(INIT_JS, {
          headers: {
            'Content-Type': 'text/javascript; charset=utf-8',
            'Cache-Control': 'no-cache',
            'X-Content-Type-Options': 'nosniff',
          },
        })
      }
      const contentType = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined
      if (!dir || !contentType) throw notFound()
      const path = join(dir, name)
      const info = await stat(path)
      const headers = {
        etag: `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`,
        contentType,
        cacheControl: 'public, max-age=86400',
        lastModified: info.mtime,
      }
      if (isNotModified(request, headers.etag)) return notModified(headers)
      return bodyResponse(request, { path }, info.size, null, headers)
    },
  }
}

function findSwaggerUi(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  } catch {
    return null
  }
}

function swaggerPage(options: DocsPageOptions): string {
  const at = (name: string) => escapeHtml(`${options.pagePath}/${name}`)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Darkroom REST API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${at('swagger-ui.css')}">
</head>
<body>
<div id="docs" data-document="${escapeHtml(options.documentPath)}"></div>
<script src="${at('swagger-ui-bundle.js')}"></script>
<script src="${at('init.js')}"></script>
</body>
</html>
`
}

/** Without Swagger UI: every operation, its method, path and summary, and the document. */
function plainPage(options: DocsPageOptions): string {
  const document = options.document()
  const server = (document.servers as { url: string }[] | undefined)?.[0]?.url ?? ''
  const rows: string[] = []
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item)) {
      rows.push(
        `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(server + path)}</code></td>` +
          `<td>${escapeHtml(op.summary)}</td><td><code>${escapeHtml(op.operationId)}</code></td></tr>`,
      )
    }
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Darkroom REST API</title>
<link rel="icon" href="data:,">
</head>
<body>
<h1>Darkroom REST API</h1>
<p>The OpenAPI 3.1 document: <a href="${escapeHtml(options.documentPath)}">${escapeHtml(options.documentPath)}</a>.
Install <code>swagger-ui-dist</code> beside <code>@darkroom/http</code> for the interactive page.</p>
<table>
<thead><tr><th>Method</th><th>Path</th><th>Summary</th><th>operationId</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</body>
</html>
`
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  )
}
