// Path ids are plain decimal numbers. Elysia's t.Integer (used for path ids,
// where values are strings on the wire) accepts any string that `+value` turns
// into an integer: `/users/0x2`, `2e0`, `+2` and ` 2` all read user 2, and
// `1e3` reads user 1000. Its string branch is checked by the "integer" format,
// which Elysia registers once, when it is first imported; this replaces it with
// ASCII digits only (at most 15, within Number's exact range). Query strings
// have their own strict parser (query.ts) and JSON bodies use TypeBox's
// non-coercing Integer, so path parameters are all this touches.
import 'elysia'
import { FormatRegistry } from '@sinclair/typebox'

const PLAIN_DECIMAL = /^[0-9]{1,15}$/

FormatRegistry.Delete('integer')
FormatRegistry.Set('integer', (value) => PLAIN_DECIMAL.test(value))
