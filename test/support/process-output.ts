import type { ChildProcess } from 'node:child_process';

/** What a child process has written so far, and ways to wait for more of it. */
export interface ProcessOutput {
  readonly stdout: string;
  readonly stderr: string;
  /** The exit code, once it exits. */
  readonly exited: Promise<number | null>;
  /** Resolves with the match once stdout matches `pattern`; rejects if the process exits first or `ms` pass. */
  stdoutMatching(pattern: RegExp, ms: number): Promise<RegExpMatchArray>;
}

/** Collects a child's output; waits are woken by the output itself, never by polling. */
export function watchOutput(child: ChildProcess): ProcessOutput {
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const wake = () => {
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    wake();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let hasExited = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      hasExited = true;
      wake();
      resolve(code);
    }),
  );
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    stdoutMatching(pattern, ms) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stdout);
          if (match || hasExited) {
            listeners.delete(check);
            clearTimeout(timer);
            if (match) resolve(match);
            else reject(new Error(`exited before printing ${pattern}:\n${stdout}\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no ${pattern} within ${ms} ms:\n${stdout}\n${stderr}`));
        }, ms);
        listeners.add(check);
        check();
      });
    },
  };
}
