import { describe, expect, it } from 'vitest'
import { errorResponse } from '../internal/responses.js'
import { createDocsPage } from './docs-page.js'
import { REST_OPERATIONS } from './operations.js'
import { defaultOpenApiDocument } from './testing/openapi-types.js'

const document = await defaultOpenApiDocument()
const options = {
  pagePath: '/m/api/docs',
  documentPath: '/m/api/openapi.json',
  document: () => document,
}
const get = (path: string, headers: Record<string, string> = {}) =>
  new Request(`http://localhost${path}`, { headers })

describe('the API docs page', () => {
  it('loads Swagger UI from its own paths, with no inline script', async () => {
    const docs = createDocsPage(options)
    const page = docs.page(get('/m/api/docs'))
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    const html = await page.text()
    expect(html).toContain('<script src="/m/api/docs/swagger-ui-bundle.js"></script>')
    expect(html).toContain('data-document="/m/api/openapi.json"')
    expect(html).not.toMatch(/<script>/)

    const bundle = await docs.asset(get('/m/api/docs/swagger-ui-bundle.js'), 'swagger-ui-bundle.js')
    expect(bundle.status).toBe(200)
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    const etag = bundle.headers.get('etag')!
    await bundle.body?.cancel()
    const again = await docs.asset(
      get('/m/api/docs/swagger-ui-bundle.js', { 'if-none-match': etag }),
      'swagger-ui-bundle.js',
    )
    expect(again.status).toBe(304)
    expect(await (await docs.asset(get('/m/api/docs/init.js'), 'init.js')).text()).toContain(
      'SwaggerUIBundle',
    )
    // Only the files the page uses: nothing else of the package, no path tricks.
    for (const name of ['package.json', '..%2Fpackage.json', 'index.html']) {
      const refused = await docs.asset(get(`/m/api/docs/${name}`), name).catch(errorResponse)
      expect(refused.status).toBe(404)
    }
  })

  it('without swagger-ui-dist, lists every operation and links the document', async () => {
    const docs = createDocsPage({ ...options, swaggerUiDir: null })
    const html = await docs.page(get('/m/api/docs')).text()
    expect(html).not.toContain('<script')
    expect(html).toContain('<a href="/m/api/openapi.json">')
    for (const op of REST_OPERATIONS) expect(html).toContain(`<code>${op.method}</code>`)
    expect(html.match(/<tr><td>/g)).toHaveLength(REST_OPERATIONS.length)
    expect(html).toContain('<code>/api/darkroom/v1/photos/{id}/reactions</code>')
    const asset = await docs
      .asset(get('/m/api/docs/swagger-ui.css'), 'swagger-ui.css')
      .catch(errorResponse)
    expect(asset.status).toBe(404)
  })
})
