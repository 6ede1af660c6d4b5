/**
 * `listPhotos`' `search`: a case-insensitive substring of the filename or the description, with
 * no wildcards. Case is folded here, in JavaScript, rather than by the database: SQLite's
 * `lower()` and `LIKE` fold ASCII only and Postgres folds by locale, so the SQL adapters store
 * the folded text beside the original and every store agrees.
 */
export function foldSearchText(text: string): string {
  return text.toLowerCase()
}

export function matchesPhotoSearch(filename: string, description: string, search: string) {
  const needle = foldSearchText(search)
  return foldSearchText(filename).includes(needle) || foldSearchText(description).includes(needle)
}
