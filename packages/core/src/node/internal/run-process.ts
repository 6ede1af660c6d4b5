import { spawn } from 'node:child_process'

/**
 * One run of an external tool (ffprobe, ffmpeg) with the limits a server needs: a timeout that
 * kills the process (SIGKILL: a stuck decoder does not answer SIGTERM), a cap on what stdout may
 * hold, and stderr kept (its tail only) for the logs. Arguments are passed as an array, never
 * through a shell, so a path cannot inject anything.
 */
export interface RunOptions {
  timeoutMs: number
  /** stdout beyond this many bytes kills the process. */
  maxStdoutBytes: number
}

export interface RunResult {
  code: number | null
  stdout: Buffer
  /** The last 16 KB of stderr, for logs and error causes; never shown to clients. */
  stderr: string
}

/** Why a run failed; its message names the tool and is meant for logs. */
export class ProcessError extends Error {
  override readonly name = 'ProcessError'
  constructor(
    message: string,
    readonly reason: 'missing' | 'timeout' | 'output_too_large' | 'exit' | 'spawn',
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

const STDERR_TAIL = 16 * 1024

/** Runs `command args`; resolves on exit 0, rejects with `ProcessError` otherwise. */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
    const stdout: Buffer[] = []
    let stdoutBytes = 0
    let stderr = ''
    let failure: ProcessError | null = null
    const kill = (error: ProcessError) => {
      failure ??= error
      child.kill('SIGKILL')
    }
    const timer = setTimeout(
      () =>
        kill(
          new ProcessError(`${command} took longer than ${options.timeoutMs} ms`, 'timeout', ''),
        ),
      options.timeoutMs,
    )
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.byteLength
      if (stdoutBytes > options.maxStdoutBytes) {
        kill(
          new ProcessError(
            `${command} wrote more than ${options.maxStdoutBytes} bytes`,
            'output_too_large',
            '',
          ),
        )
        return
      }
      stdout.push(chunk)
    })
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL)
    })
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      const missing = error.code === 'ENOENT' || error.code === 'EACCES'
      reject(
        new ProcessError(
          missing ? `${command} was not found or cannot be run` : `${command} failed to start`,
          missing ? 'missing' : 'spawn',
          stderr,
          { cause: error },
        ),
      )
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      if (failure) {
        reject(new ProcessError(failure.message, failure.reason, stderr))
      } else if (code !== 0) {
        reject(
          new ProcessError(`${command} exited with ${code}: ${lastLine(stderr)}`, 'exit', stderr),
        )
      } else {
        resolve({ code, stdout: Buffer.concat(stdout, stdoutBytes), stderr })
      }
    })
  })
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n')
  return lines[lines.length - 1]?.trim() ?? ''
}
