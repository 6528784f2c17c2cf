// Unicode rules for names people choose and compare: the key that decides
// whether two names are "the same", the mixed-script check that keeps `аlice`
// (Cyrillic а) from passing for `alice`, and password normalisation.
//
// No npm package implements UTS #39's restriction levels (the confusables
// packages map look-alike characters, and flag plain ASCII such as `I`/`l` too),
// so the check below is hand-written over the regex engine's own Unicode data
// (`\p{Script_Extensions=...}`): it follows the data of the Bun it runs on.

/**
 * The comparison key of a username or an e-mail address: NFKC, then Unicode
 * case folding, then NFKC again (UAX #31's NFKC_Casefold, the same idea).
 * `Äpfel`/`äpfel`, `Иван`/`иван`, fullwidth `ｉｖａｎ`/`ivan` and the Kelvin sign
 * /`k` get one key. JavaScript has no case-fold function: lower, upper, lower
 * again folds the characters whose lower case is not their fold (`ß` and `ẞ`
 * become `ss`, final and medial sigma meet, Cherokee small letters meet their
 * capitals). The key is only ever compared, never shown.
 */
export function foldKey(s: string): string {
  return s.normalize('NFKC').toLowerCase().toUpperCase().toLowerCase().normalize('NFKC')
}

/** Passwords are hashed in NFC, so `Café` typed composed or decomposed is one password. */
export function normalizePassword(password: string): string {
  return password.normalize('NFC')
}

// Scripts by their long names. Values this engine does not know (newer than its
// Unicode data) are skipped.
const SCRIPT_NAMES = (
  'Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak Bengali ' +
  'Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian ' +
  'Chakma Cham Cherokee Chorasmian Coptic Cuneiform Cypriot Cypro_Minoan Cyrillic Deseret Devanagari ' +
  'Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Garay Georgian Glagolitic ' +
  'Gothic Grantha Greek Gujarati Gunjala_Gondi Gurmukhi Gurung_Khema Han Hangul Hanifi_Rohingya Hanunoo ' +
  'Hatran Hebrew Hiragana Imperial_Aramaic Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi ' +
  'Kannada Katakana Kawi Kayah_Li Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Kirat_Rai Lao ' +
  'Latin Lepcha Limbu Linear_A Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean ' +
  'Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs ' +
  'Miao Modi Mongolian Mro Multani Myanmar Nabataean Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu ' +
  'Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Ol_Onal Old_Hungarian Old_Italic Old_North_Arabian Old_Permic ' +
  'Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic Old_Uyghur Oriya Osage Osmanya Pahawh_Hmong ' +
  'Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra Sharada ' +
  'Shavian Siddham SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Sunuwar Syloti_Nagri Syriac ' +
  'Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangsa Tangut Telugu Thaana Thai Tibetan ' +
  'Tifinagh Tirhuta Todhri Toto Tulu_Tigalari Ugaritic Vai Vithkuqi Wancho Warang_Citi Yezidi Yi ' +
  'Zanabazar_Square'
).split(' ')

const SCRIPTS: [string, RegExp][] = SCRIPT_NAMES.flatMap((name): [string, RegExp][] => {
  try {
    return [[name, new RegExp(`\\p{Script_Extensions=${name}}`, 'u')]]
  } catch {
    return []
  }
})

// Common and Inherited characters (digits, marks shared by scripts) go with any script.
const ANY_SCRIPT = /[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]/u
const ASCII_ALNUM = /^[A-Za-z0-9]*$/

// UTS #39 augments script sets so that Japanese (Han + Hiragana + Katakana) and
// Korean (Han + Hangul) and Han with Bopomofo each count as one script.
const AUGMENT: Record<string, string[]> = {
  Han: ['Han', 'Jpan', 'Kore', 'Hanb'],
  Hiragana: ['Hiragana', 'Jpan'],
  Katakana: ['Katakana', 'Jpan'],
  Hangul: ['Hangul', 'Kore'],
  Bopomofo: ['Bopomofo', 'Hanb']
}

const scriptCache = new Map<string, Set<string>>()

/** The augmented Script_Extensions of one character, or undefined for Common/Inherited ones. */
function scriptsOf(ch: string): Set<string> | undefined {
  if (ANY_SCRIPT.test(ch)) return undefined
  let set = scriptCache.get(ch)
  if (set) return set
  set = new Set<string>()
  for (const [name, re] of SCRIPTS) if (re.test(ch)) for (const s of AUGMENT[name] ?? [name]) set.add(s)
  // A script this engine has no name for is a script of its own.
  if (set.size === 0) set.add(`U+${ch.codePointAt(0)!.toString(16)}`)
  if (scriptCache.size < 10_000) scriptCache.set(ch, set)
  return set
}

/** The scripts every character of `chars` belongs to (UTS #39 "resolved script set"); undefined means any. */
function resolvedScripts(chars: Iterable<string>): Set<string> | undefined {
  let resolved: Set<string> | undefined
  for (const ch of chars) {
    const set = scriptsOf(ch)
    if (!set) continue
    resolved = resolved ? new Set([...resolved].filter((s) => set.has(s))) : new Set(set)
    if (resolved.size === 0) return resolved
  }
  return resolved
}

/**
 * True when `s` mixes scripts beyond what UTS #39's "Moderately Restrictive"
 * level allows: a single script (Japanese, Korean and Chinese with Bopomofo
 * each count as one), or Latin plus one other script that is neither Cyrillic
 * nor Greek (`Ivan漢字` passes; `аlice` with a Cyrillic а, `Ωmega`, or Cyrillic
 * with Greek do not). Checked on the NFKC form, as it is compared.
 */
export function mixesScripts(s: string): boolean {
  const text = s.normalize('NFKC')
  if (ASCII_ALNUM.test(text)) return false
  const chars = [...text]
  const all = resolvedScripts(chars)
  if (all === undefined || all.size > 0) return false
  // Several scripts: allowed only as Latin plus one other that is not Cyrillic or Greek.
  const rest = resolvedScripts(chars.filter((ch) => !scriptsOf(ch)?.has('Latin')))
  if (rest === undefined || rest.size === 0) return true
  return rest.has('Cyrillic') || rest.has('Greek')
}
