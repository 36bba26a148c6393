/** The parts of the onnxruntime module this package uses. */
export interface OrtModule {
  InferenceSession: {
    create(source: string | Uint8Array, options?: Record<string, unknown>): Promise<unknown>;
  };
}

/** What an InferenceSession was created from, recorded as transformers.js creates it. */
export interface SessionSource {
  source: string | Uint8Array;
  options: Record<string, unknown>;
}

const TRACKED = Symbol.for('jmpjs.session-tracking');
const UNTRACKED_CREATE = Symbol.for('jmpjs.session-create-untracked');
const sources = new WeakMap<object, SessionSource>();

/**
 * Wraps `InferenceSession.create` of transformers.js's onnxruntime so that the file (or bytes) and
 * options each session was created from can be found again. Installed once, when this package is
 * imported; sessions created before that are unknown (pass `modelSource` then).
 */
export function trackSessions(ort: OrtModule): void {
  const IS = ort.InferenceSession as OrtModule['InferenceSession'] & { [TRACKED]?: true; [UNTRACKED_CREATE]?: OrtModule['InferenceSession']['create'] };
  if (IS[TRACKED]) return;
  const create = IS.create.bind(IS);
  IS[UNTRACKED_CREATE] = create;
  IS.create = async (source: string | Uint8Array, options?: Record<string, unknown>) => {
    const session = await create(source, options);
    if (session && typeof session === 'object') sources.set(session, { source, options: { ...(options ?? {}) } });
    return session;
  };
  IS[TRACKED] = true;
}

/**
 * Creates a session without recording its source (this package's own segment sessions: recording
 * would keep their model bytes alive as long as the session).
 */
export function createSession(ort: OrtModule, source: string | Uint8Array, options: Record<string, unknown>): Promise<unknown> {
  const IS = ort.InferenceSession as OrtModule['InferenceSession'] & { [UNTRACKED_CREATE]?: OrtModule['InferenceSession']['create'] };
  return (IS[UNTRACKED_CREATE] ?? IS.create.bind(IS))(source, options);
}

/** Where a session came from, if it was created after tracking started. */
export function sessionSource(session: object): SessionSource | undefined {
  return sources.get(session);
}

export function rememberSource(session: object, source: SessionSource): void {
  sources.set(session, source);
}
