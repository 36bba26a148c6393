#!/usr/bin/env node
// The `jmp` command. This file exists before the first build, so installing the workspace can link
// it; the command itself is the compiled dist/cli/jmp.js.
import '../dist/cli/jmp.js';
