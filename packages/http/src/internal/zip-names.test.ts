import { describe, expect, it } from 'vitest'
import { zipEntryNames } from './zip-names.js'

const names = (...filenames: string[]) =>
  zipEntryNames(filenames.map((filename, i) => ({ photoId: `id${i}`, filename, extension: 'jpg' })))

describe('zipEntryNames', () => {
  it('keeps one safe path segment: no traversal, control, bidi or Windows-reserved characters', () => {
    expect(
      names(
        '../../etc/passwd.jpg',
        'C:\\Users\\x\\evil.jpg',
        'a\u0000b\u001b[31m.jpg',
        'gpj.\u202Eexe.jpg',
        'a<b>c:d"e|f?g*.jpg',
        'trailing. . .jpg',
        'CON.jpg',
        'lpt1',
        '..',
        '',
      ),
    ).toEqual([
      'passwd.jpg',
      'evil.jpg',
      'ab[31m.jpg',
      'gpj.exe.jpg',
      'a_b_c_d_e_f_g_.jpg',
      'trailing.jpg',
      '_CON.jpg',
      '_lpt1.jpg',
      'photo-id8.jpg',
      'photo-id9.jpg',
    ])
  })

  it('uses the rendition extension and caps the length', () => {
    const [name] = zipEntryNames([{ photoId: 'x', filename: 'IMG_1.HEIC', extension: 'webp' }])
    expect(name).toBe('IMG_1.webp')
    const [long] = names(`${'a'.repeat(500)}.jpg`)
    expect(long).toHaveLength(200)
    expect(long!.endsWith('a.jpg')).toBe(true)
  })

  it('numbers repeats, ignoring case, and never takes a name another photo has', () => {
    expect(names('a.jpg', 'A.JPG', 'a (2).jpg', 'a.jpg', 'noext')).toEqual([
      'a.jpg',
      'A (3).jpg',
      'a (2).jpg',
      'a (4).jpg',
      'noext.jpg',
    ])
  })
})
