// Types of index.js.
import type { BrowserContext } from 'playwright-core';

/** Debian's Chromium: /usr/bin/chromium, or $JMP_CHROMIUM when set. */
export const CHROMIUM: string;
/** Whether CI is set (any value but '', '0', 'false'). */
export function isCI(): boolean;
/** Whether Chromium is installed at `CHROMIUM`. */
export function hasChromium(): boolean;
/**
 * Whether the browser suite `suite` runs here: true with Chromium. Without it, prints one line
 * naming the suite and what to install and returns false (the suite skips), except under CI,
 * where it throws: CI runs every browser suite.
 */
export function browserSuite(suite: string): boolean;
/** "<what> needs Chromium at … : apt-get install …", for commands that need it. */
export function missingChromiumMessage(what: string): string;
/**
 * Headless Chromium with a fresh profile; `webgpu: true` adds the SwiftShader WebGPU flags (no GPU
 * needed), `webgpu: 'hardware'` the flags for a real GPU (Vulkan).
 */
export function launchChromium(options?: {
  webgpu?: boolean | 'hardware';
  viewport?: { width: number; height: number };
}): Promise<BrowserContext & { cleanup(): Promise<void> }>;
/** Serves each URL prefix from a folder on 127.0.0.1 (cross-origin isolated, no caching). */
export function serveStatic(routes: Record<string, string>): Promise<{ url: string; close(): Promise<void> }>;
/**
 * The folder of transformers.js's own onnxruntime-web dist files (the wasm builds): of the
 * transformers.js that `fromPackageDir` resolves, or of the one whose entry file is `transformersEntry`.
 */
export function ortWebDist(fromPackageDir: string, transformersEntry?: string): string;
