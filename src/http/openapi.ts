// The OpenAPI document (/openapi.json) and the docs page (/docs). The page's
// assets come from the swagger-ui-dist package and are embedded in the program
// (the compiled binary too), so /docs loads nothing from another host.
import { Elysia } from 'elysia'
import { openapi } from '@elysiajs/openapi'
// @ts-ignore: a file import gives a path that Bun.file can read, embedded by `bun build --compile`
import swaggerJs from '../../node_modules/swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' }
// @ts-ignore: as above
import swaggerCss from '../../node_modules/swagger-ui-dist/swagger-ui.css' with { type: 'file' }

const ASSETS = '/docs/assets'

function asset(path: string, type: string) {
  return () =>
    new Response(Bun.file(path), {
      headers: { 'content-type': type, 'cache-control': 'public, max-age=86400' }
    })
}

export function docsPlugin() {
  return new Elysia({ name: 'roster.docs' })
    .get(`${ASSETS}/swagger-ui-bundle.js`, asset(swaggerJs as string, 'text/javascript; charset=utf-8'), { detail: { hide: true } })
    .get(`${ASSETS}/swagger-ui.css`, asset(swaggerCss as string, 'text/css; charset=utf-8'), { detail: { hide: true } })
    .use(
      openapi({
        path: '/docs',
        specPath: '/openapi.json',
        provider: 'swagger-ui',
        swagger: {
          cdn: `${ASSETS}/swagger-ui-bundle.js`,
          theme: `${ASSETS}/swagger-ui.css`,
          // The default validator badge calls validator.swagger.io.
          validatorUrl: null,
          persistAuthorization: false
        } as never,
        exclude: { paths: [`${ASSETS}/swagger-ui-bundle.js`, `${ASSETS}/swagger-ui.css`] },
        documentation: {
          info: {
            title: 'User Management API',
            version: '2.0.0',
            description:
              'Roster: self-hosted user management. Errors are `{"detail": ...}`; validation errors list one `{field, message, type}` per bad field. ' +
              'Any route may also answer 429 `{"detail":"Rate limit exceeded"}` with `Retry-After` (limited responses carry `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`); ' +
              'a route taking JSON answers 413 `{"detail":"Request body too large"}` over 1 MiB and 415 to another Content-Type.',
            contact: { name: 'API Support', email: 'support@example.com' }
          },
          components: {
            securitySchemes: {
              bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
              // Lets the docs page's Authorize button log in with the password form.
              oauth2: { type: 'oauth2', flows: { password: { tokenUrl: '/auth/login', scopes: {} } } }
            }
          }
        }
      })
    )
}
