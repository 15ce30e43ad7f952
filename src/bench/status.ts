// A single-line progress display on stderr for long benchmark runs: one line rewritten in place, at most
// ten times a second, and nothing at all when stderr is not a terminal (CI logs, pipes, --json into a
// file), so it never interleaves with the results on stdout. Lines printed through `log` clear it first.
// Node only (process.stderr).

/** The status line. */
export class StatusLine {
  readonly #on: boolean;
  #text = '';
  #shown = false;
  #last = 0;

  constructor(enabled: boolean = process.stderr.isTTY === true) {
    this.#on = enabled;
  }

  /** Replaces the status text (drawn if the last draw is 100 ms old). */
  set(text: string): void {
    this.#text = text;
    if (!this.#on) return;
    const t = Date.now();
    if (t - this.#last < 100) return;
    this.#last = t;
    this.#draw();
  }

  /** Prints a line above the status (to stdout), then redraws the status. */
  log(line: string): void {
    this.clear();
    process.stdout.write(`${line}\n`);
    if (this.#on && this.#text) this.#draw();
  }

  /** Removes the status line. */
  clear(): void {
    if (this.#shown) process.stderr.write('\r\x1b[2K');
    this.#shown = false;
  }

  #draw(): void {
    const width = Math.max(20, (process.stderr.columns ?? 80) - 1);
    process.stderr.write(`\r\x1b[2K${this.#text.slice(0, width)}`);
    this.#shown = true;
  }
}
