// Unicode rules over HTTP: usernames and e-mail addresses are unique and found
// after NFKC + case folding; usernames that mix scripts the way impersonations
// do are refused; passwords are NFC-normalised, with older raw hashes accepted.
import { describe, expect, test } from 'bun:test'
import type { Data } from '../src/db/data'
import { fillUserKeys, KeyFillError } from '../src/db/user-keys'
import { foldKey } from '../src/lib/unicode'
import { admin, makeApp, PASSWORD, req, signup, userBody, type TestApp } from './helpers'

const TAKEN = { detail: 'Username already exists' }
const EMAIL_TAKEN = { detail: 'Email already registered' }
const MIXED = {
  detail: [{ field: 'body.username', message: 'Username must not mix scripts (such as Latin with Cyrillic or Greek)', type: 'value_error' }]
}

const create = (t: TestApp, username: string, email = `u${Math.random().toString(36).slice(2)}@example.com`) =>
  req(t, 'POST', '/users', { body: { username, email, password: PASSWORD } })
const userCount = async (t: TestApp) => Number((await t.sql<{ n: number }>('SELECT count(*) AS n FROM users'))[0]!.n)

describe('usernames are one name whatever their case or compatibility form', () => {
  const pairs: [string, string, string][] = [
    ['German umlaut, capital and small', 'Äpfel', 'äpfel'],
    ['umlaut composed and decomposed (NFKC)', 'Äpfel', 'a\u0308pfel'],
    ['Cyrillic capital and small', 'Иван', 'иван'],
    ['fullwidth and ASCII', 'ｉｖａｎ', 'ivan'],
    ['Kelvin sign and k', '\u212Aate', 'kate'],
    ['sharp s and ss', 'Straße', 'STRASSE'],
    ['Greek final and medial sigma', 'Οδυσσευς', 'οδυσσευσ']
  ]
  for (const [name, first, second] of pairs) {
    test(`${name}: ${first} then ${second} is 400, nothing written`, async () => {
      const t = await makeApp()
      expect((await create(t, first)).status).toBe(201)
      const before = await userCount(t)
      const r = await create(t, second)
      // A decomposed umlaut is not "letters and digits" as typed: 422 is a refusal too.
      if (second.includes('\u0308')) expect(r.status).toBe(422)
      else expect(r.json).toEqual(TAKEN)
      expect(await userCount(t)).toBe(before)
    })
  }

  test('login by any form of the name finds the one account', async () => {
    const t = await makeApp()
    await signup(t, 'Иван', { email: 'ivan1@example.com' })
    for (const name of ['Иван', 'ИВАН', 'иван']) {
      const r = await req(t, 'POST', '/auth/login', { body: { username: name, password: PASSWORD } })
      expect({ name, status: r.status }).toEqual({ name, status: 200 })
    }
    await signup(t, 'ivan')
    const full = await req(t, 'POST', '/auth/login', { body: { username: 'ＩＶＡＮ', password: PASSWORD } })
    const me = await req(t, 'GET', '/users/me', { token: full.json.access_token })
    expect(me.json.username).toBe('ivan')
  })

  test('the name is kept as typed; only the comparison folds', async () => {
    const t = await makeApp()
    const r = await create(t, 'Äpfel')
    expect(r.json.username).toBe('Äpfel')
  })

  test('PATCH/PUT to a name that folds onto another user is 400; onto your own is fine', async () => {
    const t = await makeApp()
    await signup(t, 'Иван', { email: 'ivan1@example.com' })
    const a = await signup(t, 'alice')
    const token = (await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).json.access_token
    expect((await req(t, 'PATCH', `/users/${a.id}`, { token, body: { username: 'иВАН' } })).json).toEqual(TAKEN)
    expect((await req(t, 'PUT', `/users/${a.id}`, { token, body: userBody('ИВАН', { email: 'alice@example.com' }) })).json).toEqual(TAKEN)
    const own = await req(t, 'PATCH', `/users/${a.id}`, { token, body: { username: 'ALICE' } })
    expect(own.status).toBe(200)
    expect(own.json.username).toBe('ALICE')
  })

  test('50 concurrent signups of Иван and иван: exactly one winner, the rest 400', async () => {
    const t = await makeApp()
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => create(t, i % 2 ? 'Иван' : 'иван', `ivan${i}@example.com`))
    )
    expect(answers.filter((r) => r.status === 201)).toHaveLength(1)
    expect(answers.filter((r) => r.status === 400).every((r) => r.json.detail === TAKEN.detail)).toBe(true)
    expect(answers.filter((r) => r.status === 400)).toHaveLength(49)
    expect(await userCount(t)).toBe(1)
  })
})

describe('e-mail addresses are one address whatever their case', () => {
  test('another case collides; login and password reset by any case reach the account', async () => {
    const t = await makeApp()
    expect((await create(t, 'first', 'Alice@Example.com')).status).toBe(201)
    expect((await create(t, 'second', 'alice@example.com')).json).toEqual(EMAIL_TAKEN)
    expect((await create(t, 'third', 'ALICE@EXAMPLE.COM')).json).toEqual(EMAIL_TAKEN)
    expect((await req(t, 'POST', '/auth/login', { body: { username: 'ALICE@example.COM', password: PASSWORD } })).status).toBe(200)
    await req(t, 'POST', '/auth/password-reset', { body: { email: 'aLiCe@EXAMPLE.com' } })
    await t.services.resets.settled()
    const n = Number((await t.sql<{ n: number }>("SELECT count(*) AS n FROM email_outbox WHERE kind = 'password_reset'"))[0]!.n)
    expect(n).toBe(1)
  })
})

describe('usernames mixing scripts are refused (UTS #39, moderately restrictive)', () => {
  const refused: [string, string][] = [
    ['Latin with one Cyrillic letter (а)', 'аlice'],
    ['Latin with Cyrillic', 'Ivanиван'],
    ['Latin with Greek', 'Ωmega'],
    ['Cyrillic with Greek', 'Сергейαβ']
  ]
  for (const [name, username] of refused) {
    test(`${name}: 422 on signup, nothing written`, async () => {
      const t = await makeApp()
      const r = await create(t, username)
      expect(r.status).toBe(422)
      expect(r.json).toEqual(MIXED)
      expect(await userCount(t)).toBe(0)
    })
  }

  const allowed: [string, string][] = [
    ['Cyrillic alone', 'Иван'],
    ['Cyrillic with digits', 'иван2'],
    ['Greek alone', 'Οδυσσευς'],
    ['Latin with Han', 'Ivan漢字'],
    ['Japanese (Han, Hiragana, Katakana)', '漢字ひらがなカタカナ'],
    ['Latin with Hangul', 'abc한국어'],
    ['Latin with Devanagari', 'abcअबक']
  ]
  for (const [name, username] of allowed) {
    test(`${name} (${username}): 201`, async () => {
      const t = await makeApp()
      expect((await create(t, username)).status).toBe(201)
    })
  }

  test('PATCH to a mixed-script name is 422 and changes nothing; an admin is held to it too', async () => {
    const t = await makeApp()
    const root = await admin(t)
    const a = await signup(t, 'alice')
    const r = await req(t, 'PATCH', `/users/${a.id}`, { token: root.token, body: { username: 'аlice' } })
    expect(r.json).toEqual(MIXED)
    const [row] = await t.sql<{ username: string }>('SELECT username FROM users WHERE id = ?', a.id)
    expect(row!.username).toBe('alice')
  })
})

describe('passwords are NFC-normalised', () => {
  const composed = 'Caf\u00e9Secret1'
  const decomposed = 'Cafe\u0301Secret1'

  test('signed up composed, logs in decomposed (and the other way round)', async () => {
    const t = await makeApp()
    await signup(t, 'alice', { password: composed })
    await signup(t, 'bob', { password: decomposed })
    for (const [username, password] of [['alice', decomposed], ['bob', composed], ['alice', composed], ['bob', decomposed]]) {
      const r = await req(t, 'POST', '/auth/login', { body: { username, password } })
      expect({ username, status: r.status }).toEqual({ username, status: 200 })
    }
  })

  test('a hash made from the raw (decomposed) password before normalisation still logs in', async () => {
    const t = await makeApp()
    const a = await signup(t, 'alice')
    const legacy = await Bun.password.hash(decomposed, { algorithm: 'argon2id', memoryCost: 19456, timeCost: 2 })
    await t.sql('UPDATE users SET hashed_password = ? WHERE id = ?', legacy, a.id)
    expect((await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: decomposed } })).status).toBe(200)
    expect((await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: 'Wrong1234' } })).status).toBe(401)
  })
})

describe('existing rows get their keys at start', () => {
  test('keys are filled in id order; a later user colliding after folding keeps its row but not the name for login', async () => {
    const t = await makeApp()
    const hash = await Bun.password.hash(PASSWORD)
    const now = new Date().toISOString()
    // Rows as written before the keys existed (only ASCII case was compared then).
    const ids: number[] = []
    for (const [username, email] of [['Straße', 'a@example.com'], ['strasse', 'b@example.com'], ['Иван', 'ИВАН@example.com'], ['other', 'иван@example.com']]) {
      const [row] = await t.sql<{ id: number }>(
        'INSERT INTO users (username, email, hashed_password, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id',
        username, email, hash, now, now
      )
      ids.push(Number(row!.id))
    }
    expect(await fillUserKeys(t.data)).toEqual([ids[1]!, ids[3]!])
    const rows = await t.sql<{ id: number; u: string; e: string }>('SELECT id, username_key AS u, email_key AS e FROM users ORDER BY id')
    expect(rows.map((r) => r.u)).toEqual(['strasse', `strasse #${ids[1]}`, foldKey('Иван'), 'other'])
    expect(rows.map((r) => r.e)).toEqual(['a@example.com', 'b@example.com', foldKey('иван@example.com'), `${foldKey('иван@example.com')} #${ids[3]}`])
    // The older of the two is found by its name; the newer still logs in by e-mail.
    expect((await req(t, 'POST', '/auth/login', { body: { username: 'STRASSE', password: PASSWORD } })).status).toBe(200)
    expect((await req(t, 'POST', '/auth/login', { body: { username: 'b@example.com', password: PASSWORD } })).status).toBe(200)
    // Nothing left to fill: the next start does nothing.
    expect(await fillUserKeys(t.data)).toEqual([])
    expect((await t.data.migrate()).keyCollisions).toEqual([])
  })
  // Rows as written before the keys existed; returns their ids.
  async function legacyUsers(t: TestApp, rows: [string, string][]): Promise<number[]> {
    const hash = await Bun.password.hash(PASSWORD)
    const now = new Date().toISOString()
    const ids: number[] = []
    for (const [username, email] of rows) {
      const [row] = await t.sql<{ id: number }>(
        'INSERT INTO users (username, email, hashed_password, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id',
        username, email, hash, now, now
      )
      ids.push(Number(row!.id))
    }
    return ids
  }
  const keys = (t: TestApp) => t.sql<{ u: string | null; e: string | null }>('SELECT username_key AS u, email_key AS e FROM users ORDER BY id')

  // Collisions across batches (1 and 4), inside one batch (5 and 6), and across the kill below (5 and 8).
  const LEGACY: [string, string][] = [
    ['Straße', 'a@example.com'],
    ['x1', 'x1@example.com'],
    ['y1', 'y1@example.com'],
    ['strasse', 'b@example.com'],
    ['Иван', 'ИВАН@example.com'],
    ['иван', 'c@example.com'],
    ['z1', 'z1@example.com'],
    ['other', 'иван@example.com']
  ]
  const expected = (ids: number[]) => ({
    u: ['strasse', 'x1', 'y1', `strasse #${ids[3]}`, 'иван', `иван #${ids[5]}`, 'z1', 'other'],
    e: ['a@example.com', 'x1@example.com', 'y1@example.com', 'b@example.com', 'иван@example.com', 'c@example.com', 'z1@example.com', `иван@example.com #${ids[7]}`]
  })

  test('in batches: more rows than one batch end exactly as one batch would', async () => {
    for (const batch of [2, 3, 1000]) {
      const t = await makeApp()
      const ids = await legacyUsers(t, LEGACY)
      expect({ batch, collisions: await fillUserKeys(t.data, { batch }) }).toEqual({ batch, collisions: [ids[3]!, ids[5]!, ids[7]!] })
      const rows = await keys(t)
      expect({ batch, u: rows.map((r) => r.u), e: rows.map((r) => r.e) }).toEqual({ batch, ...expected(ids) })
    }
  })

  test('a run killed after some batches keeps them; the next run finishes and reports every collision', async () => {
    const t = await makeApp()
    const ids = await legacyUsers(t, LEGACY)
    // The third transaction dies as a killed process would: the first two batches are committed.
    let n = 0
    const dying: Data = { ...t.data, transaction: (fn) => (++n <= 2 ? t.data.transaction(fn) : Promise.reject(new Error('killed'))) }
    const killed = await fillUserKeys(dying, { batch: 2 }).catch((err: unknown) => err)
    expect(killed).toBeInstanceOf(KeyFillError)
    expect((killed as KeyFillError).cause).toEqual(new Error('killed'))
    const half = await keys(t)
    expect(half.map((r) => r.u)).toEqual(['strasse', 'x1', 'y1', `strasse #${ids[3]}`, null, null, null, null])
    expect(half.map((r) => r.e)).toEqual(['a@example.com', 'x1@example.com', 'y1@example.com', 'b@example.com', null, null, null, null])
    // The next start: the collision found before the kill is reported with the new ones.
    expect(await fillUserKeys(t.data, { batch: 2 })).toEqual([ids[3]!, ids[5]!, ids[7]!])
    const rows = await keys(t)
    expect({ u: rows.map((r) => r.u), e: rows.map((r) => r.e) }).toEqual(expected(ids))
    expect((await req(t, 'POST', '/auth/login', { body: { username: 'ИВАН', password: PASSWORD } })).status).toBe(200)
    expect((await req(t, 'POST', '/auth/login', { body: { username: 'c@example.com', password: PASSWORD } })).status).toBe(200)
    expect(await fillUserKeys(t.data, { batch: 2 })).toEqual([])
  })
})

