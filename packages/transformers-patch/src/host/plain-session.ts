// The pipeline's plain session while a handle is off: re-created as transformers.js created it,
// and its release watched, since pipeline.dispose() calls it.
import type { SessionLike } from '../runner/segment-runner.js';
import { createSession, rememberSource, type OrtModule, type SessionSource } from './sessions.js';

/** The plain session, as transformers.js created it (from the file and options it recorded). */
export async function createPlainSession(ort: OrtModule, source: SessionSource): Promise<SessionLike> {
  const session = (await createSession(ort, source.source, source.options)) as SessionLike;
  rememberSource(session, source); // so that enableJMP works on this pipeline again
  return session;
}

/** A plain session whose disposal by the pipeline is watched. */
export interface WatchedSession {
  session: SessionLike;
  /** Releases the session itself (its own release, the watch removed). */
  release(): Promise<void>;
  /** Gives the session its own release (and v3's handler its own dispose) back. */
  restore(): void;
}

/** Watches `session`: pipeline.dispose() releasing it calls `disposed` instead. */
export function watchSession(session: SessionLike, disposed: () => Promise<void>): WatchedSession {
  // pipeline.dispose(): transformers.js v4 calls session.release(), v3 session.handler.dispose()
  const release = session.release;
  const restoreRelease = hookMethod(session, 'release', disposed);
  const handler = (session as { handler?: { dispose?: unknown } }).handler;
  const restoreHandler =
    handler && typeof handler.dispose === 'function' ? hookMethod(handler as { dispose: () => Promise<void> }, 'dispose', disposed) : () => {};
  const restore = () => {
    restoreRelease();
    restoreHandler();
  };
  return {
    session,
    release: () => {
      restore();
      return release.call(session);
    },
    restore,
  };
}

/** Replaces `obj[key]` with `fn`; the function returned puts the original back (own property or prototype's). */
function hookMethod<K extends string>(obj: { [k in K]: () => Promise<void> }, key: K, fn: () => Promise<void>): () => void {
  const own = Object.getOwnPropertyDescriptor(obj, key);
  obj[key] = fn as (typeof obj)[K];
  return () => {
    if (own) Object.defineProperty(obj, key, own);
    else delete (obj as Partial<typeof obj>)[key];
  };
}
