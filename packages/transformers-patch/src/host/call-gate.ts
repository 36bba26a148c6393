// The ordering a handle needs: lifecycle operations one after another, calls counted while in
// flight, and a gate that holds new calls while the sessions are switched.

/** Resolves after the tasks already queued (onnxruntime-node runs each session run in its own `setImmediate`). */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => (typeof globalThis.setImmediate === 'function' ? globalThis.setImmediate(resolve) : setTimeout(resolve, 0)));
}

/** Runs operations one after another (a failed one does not block the next). */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(op);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/**
 * Counts the calls in flight, and holds new calls while closed: `close()` makes calls arriving
 * from then on wait, then waits for the calls in flight.
 */
export class CallGate {
  private inFlight = 0;
  private drainWaiters: (() => void)[] = [];
  private gate: Promise<void> | null = null;

  /** While closed: what opens it again (calls arriving wait for it); null while open. */
  get closed(): Promise<void> | null {
    return this.gate;
  }

  /** Runs a call, counted while in flight. */
  track<T>(run: () => Promise<T>): Promise<T> {
    this.inFlight++;
    const done = () => {
      if (--this.inFlight === 0) for (const wake of this.drainWaiters.splice(0)) wake();
    };
    let result: Promise<T>;
    try {
      result = run();
    } catch (e) {
      done();
      return Promise.reject(e);
    }
    return result.finally(done);
  }

  /**
   * Makes calls arriving from now on wait, then waits for the calls in flight (and for session
   * runs already queued by calls that started before enableJMP). Returns what opens it again.
   */
  async close(): Promise<() => void> {
    let open!: () => void;
    this.gate = new Promise<void>((resolve) => (open = resolve));
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    await nextTask();
    return () => {
      this.gate = null;
      open();
    };
  }
}
