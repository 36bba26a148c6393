// The reduction methods, one line each: adding a method is its folder and a line here.
import { evit } from './evit/method.js';
import { jmp } from './jmp/method.js';
import { tome } from './tome/method.js';
import type { CoreMethod, ReductionMethod } from './types.js';

type Registry = { [K in ReductionMethod['method']]: CoreMethod<Extract<ReductionMethod, { method: K }>> };

export const METHODS: Readonly<Registry> = Object.freeze({
  jmp,
  tome,
  evit,
});

/** The registry's entry for `name`, or undefined for a name it does not hold (inherited keys included). */
export function coreMethod(name: unknown): CoreMethod | undefined {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(METHODS, name)
    ? (METHODS[name as ReductionMethod['method']] as CoreMethod)
    : undefined;
}

/** The method names for messages: `'jmp', 'tome' or 'evit'`. */
export function methodNames(): string {
  const names = Object.keys(METHODS).map((m) => `'${m}'`);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names.join('');
}
