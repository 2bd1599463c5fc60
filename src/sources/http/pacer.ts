/**
 * Hands the event loop back whenever a slice of synchronous work has run this
 * long, so that one big body does not keep /healthz and other requests waiting.
 */
export class Pacer {
  private since = performance.now();
  constructor(private readonly sliceMs = 5) {}

  due(): boolean {
    return performance.now() - this.since >= this.sliceMs;
  }

  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }
}
