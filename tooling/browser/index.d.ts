// Types of index.js.
import type { BrowserContext } from 'playwright-core';

/** Debian's Chromium. */
export const CHROMIUM: string;
/** Whether Chromium is installed; under CI (CI=true) its absence is an error, not a skip. */
export function hasChromium(): boolean;
/**
 * Headless Chromium with a fresh profile; `webgpu: true` adds the SwiftShader WebGPU flags (no GPU
 * needed), `webgpu: 'hardware'` the flags for a real GPU (Vulkan).
 */
export function launchChromium(options?: { webgpu?: boolean | 'hardware'; viewport?: { width: number; height: number } }): Promise<BrowserContext & { cleanup(): Promise<void> }>;
/** Serves each URL prefix from a folder on 127.0.0.1 (cross-origin isolated, no caching). */
export function serveStatic(routes: Record<string, string>): Promise<{ url: string; close(): Promise<void> }>;
/** The folder of onnxruntime-web's dist files (the wasm builds), resolved from a package that depends on it. */
export function ortWebDist(fromPackageDir: string): string;
