// The package's one side effect on import: `InferenceSession.create` of transformers.js's
// onnxruntime is wrapped so that the file (or bytes) and options each session was created from can
// be found again (see trackSessions). The entry points import this module for its effect, and
// package.json lists it (source and dist) under `sideEffects`, so bundlers keep it.
import { platform } from '#platform';
import { trackSessions } from './sessions.js';

trackSessions(platform.ort());
