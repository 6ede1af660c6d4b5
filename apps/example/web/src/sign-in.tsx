import { useState, type FormEvent } from 'react'
import { describeError } from './errors.js'
import { signIn, type Session } from './session.js'

export function SignIn({
  initialError,
  onSignedIn,
}: {
  initialError: string | null
  onSignedIn: (session: Session) => void
}) {
  const [key, setKey] = useState('')
  const [error, setError] = useState(initialError)
  const [busy, setBusy] = useState(false)

  async function submit(event: FormEvent) {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      onSignedIn(await signIn(key))
    } catch (err) {
      setError(describeError(err))
      setBusy(false)
    }
  }

  return (
    <main className="sign-in">
      <h1>Darkroom</h1>
      <p>Sign in with an API key to see and upload your photos.</p>
      <form onSubmit={(e) => void submit(e)} aria-describedby="key-help">
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="apiKey"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="sk_…"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          required
          aria-invalid={error ? true : undefined}
          aria-errormessage={error ? 'key-error' : undefined}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p id="key-error" className="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p id="key-help" className="hint">
        The server prints an admin key on its first start (<code>npm start</code>), with a one-time
        link that signs you in. Make another key with{' '}
        <code>npx darkroom keys create --owner &lt;you&gt;</code>, or a new link for a key with{' '}
        <code>npx darkroom keys code &lt;key id&gt;</code>.
      </p>
    </main>
  )
}
