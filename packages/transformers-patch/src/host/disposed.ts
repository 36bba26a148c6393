// Why a handle is disposed, for the typed errors of its later calls.

/** What a later call on a disposed handle was found to be, and what to do. */
export type DisposedBy = { found: string; expected: string; hint: string };

/** jmp.dispose() was called. */
export const HANDLE_DISPOSED: DisposedBy = {
  found: 'a disposed handle',
  expected: 'a JMP handle that was not disposed',
  hint: 'Call enableJMP(pipeline, options) again for a new handle.',
};

/** pipeline.dispose() was called. */
export const PIPELINE_DISPOSED: DisposedBy = {
  found: 'a pipeline disposed with pipeline.dispose()',
  expected: 'a pipeline that was not disposed',
  hint: 'Create the pipeline again (then enableJMP on it).',
};

/** Another enableJMP call took the pipeline while this handle was detached. */
export const PIPELINE_TAKEN: DisposedBy = {
  found: 'a handle whose pipeline another enableJMP call took while it was detached',
  expected: 'the pipeline to itself',
  hint: "Use the pipeline's new handle.",
};
