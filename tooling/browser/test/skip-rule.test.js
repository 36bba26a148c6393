// The skip rule of the browser suites: without Chromium a suite skips with one line saying what to
// install, except under CI, where a missing Chromium fails. Each case runs in a child process with
// JMP_CHROMIUM pointing at a missing or an existing file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const index = new URL('../index.js', import.meta.url).href;

function suite(env) {
  const script = `const m = await import(${JSON.stringify(index)}); console.log('result=' + m.browserSuite('demo suite'));`;
  const base = { ...process.env };
  delete base.CI;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...base, ...env } });
}

const missing = '/nonexistent/jmp-test/chromium';

test('no Chromium, no CI: the suite skips and says what to install', () => {
  const r = suite({ JMP_CHROMIUM: missing });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\[skipped\] demo suite: no Chromium at \/nonexistent\/jmp-test\/chromium\. To run it: apt-get install -y chromium/m);
  assert.match(r.stdout, /result=false/);
});

test('no Chromium under CI: a failure, not a skip', () => {
  for (const ci of ['true', '1']) {
    const r = suite({ JMP_CHROMIUM: missing, CI: ci });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /demo suite: \/nonexistent\/jmp-test\/chromium is missing and CI is set/);
    assert.doesNotMatch(r.stdout, /result=/);
  }
});

test('CI=false or empty is not CI', () => {
  for (const ci of ['false', '0', '']) {
    const r = suite({ JMP_CHROMIUM: missing, CI: ci });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /result=false/);
  }
});

test('Chromium present: the suite runs, nothing printed', () => {
  const r = suite({ JMP_CHROMIUM: process.execPath, CI: 'true' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'result=true');
});
