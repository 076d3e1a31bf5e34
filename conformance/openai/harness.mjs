// Child processes for the openai conformance suite: the gateway jar, the demo model as a
// container of its own, and the SageMaker emulator, each on a free port it picks itself and
// announces on a line of its output. Every wait is bounded; nothing sleeps to synchronise.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const JAR = join(ROOT, 'target', 'sagegate.jar');
const START_TIMEOUT_MS = 120_000; // JVMs on a loaded 2-core machine start slowly

export function workDir() {
  if (!existsSync(JAR)) {
    throw new Error(`${JAR} is missing: run mvn -DskipTests package first`);
  }
  return mkdtempSync(join(tmpdir(), 'sagegate-openai-'));
}

/** A child whose output lines are kept and matched against readiness patterns. */
export class Child {
  constructor(name, argv, { cwd = ROOT, env = {} } = {}) {
    this.name = name;
    this.lines = [];
    this.listeners = [];
    this.proc = spawn(argv[0], argv.slice(1), { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (data) => {
        rest += data;
        const parts = rest.split('\n');
        rest = parts.pop();
        for (const line of parts) {
          this.lines.push(line);
          for (const l of this.listeners) l(line);
        }
      });
    }
    this.exited = new Promise((res) => this.proc.on('exit', (code) => res(code)));
  }

  /** The first capture group of the first line matching each pattern, within the timeout. */
  async waitFor(patterns, timeoutMs = START_TIMEOUT_MS) {
    const found = {};
    const check = (line) => {
      for (const [key, re] of Object.entries(patterns)) {
        const m = re.exec(line);
        if (m && !(key in found)) found[key] = m[1];
      }
    };
    this.lines.forEach(check);
    if (Object.keys(found).length === Object.keys(patterns).length) return found;
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${this.name} not ready in ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      this.exited.then((code) => rej(new Error(`${this.name} exited (${code}) before it was ready:\n${this.tail()}`)));
      this.listeners.push((line) => {
        check(line);
        if (Object.keys(found).length === Object.keys(patterns).length) {
          clearTimeout(timer);
          res(found);
        }
      });
    });
  }

  /** The audit record (a JSON line on the gateway's stdout) of one request, waiting for it. */
  async audit(requestId, timeoutMs = 20_000) {
    return (await this.waitFor({ r: new RegExp(`^(\\{.*"requestId":"${requestId}".*\\})$`) }, timeoutMs)).r;
  }

  tail(n = 40) {
    return this.lines.slice(-n).join('\n');
  }

  async stop() {
    if (this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

export async function startDemoModel() {
  const child = new Child('demo-model', ['java', '-jar', JAR, 'demo-model', '--port', '0', '--host', '127.0.0.1']);
  const { port } = await child.waitFor({ port: /serving on http:\/\/[^:]+:(\d+)/ });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** The SageMaker emulator from the test classes (mvn test-compile), with its scenario. */
export async function startEmulator(dir, scenario) {
  const cpFile = join(ROOT, 'target', 'conformance-classpath.txt');
  if (!existsSync(cpFile)) {
    execFileSync('mvn', ['-o', '-q', 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`, '-Dmdep.includeScope=test'],
      { cwd: ROOT, stdio: 'ignore' });
  }
  const cp = [join(ROOT, 'target', 'test-classes'), join(ROOT, 'target', 'classes'), readFileSync(cpFile, 'utf8').trim()].join(':');
  const path = join(dir, 'emulator-scenario.json');
  writeFileSync(path, JSON.stringify(scenario, null, 2));
  const child = new Child('emulator', ['java', '-cp', cp, 'io.sagegate.testsupport.aws.EmulatorMain', '--port', '0', '--scenario', path]);
  const { port, inspect } = await child.waitFor({ port: /^EMULATOR_PORT=(\d+)$/, inspect: /^INSPECT_PORT=(\d+)$/ });
  return { child, url: `http://127.0.0.1:${port}`, inspect: `http://127.0.0.1:${inspect}` };
}

export async function startGateway(dir, configText, env = {}) {
  const cfg = join(dir, 'gateway.yaml');
  writeFileSync(cfg, configText);
  const child = new Child('gateway', ['java', '-jar', JAR, 'serve', '--config', cfg, '--key-dir', join(dir, 'keys'),
    '--port', '0', '--management-port', '0'], { env });
  const { port, management } = await child.waitFor({
    port: /serving on http:\/\/localhost:(\d+)/, management: /management: http:\/\/localhost:(\d+)/ });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${management}/readyz`)).ok) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`gateway not ready:\n${child.tail()}`);
    await new Promise((r) => setTimeout(r, 200)); // polling a readiness probe, bounded above
  }
  return { child, url: `http://127.0.0.1:${port}` };
}

/**
 * The gateway as every suite here runs it: the dev issuer, the suite's own config lines between
 * (its endpoints, and aws: where it needs one), and one rule that lets group testers invoke and
 * stream every endpoint tagged env: test. With two callers: tester (alice, in testers) and
 * outsider (mallory, in outsiders).
 */
export async function startTestersGateway(dir, configLines, env = {}) {
  const gateway = await startGateway(dir, `
auth: {devIssuer: true, issuer: sagegate-dev, audiences: [sagegate]}
${configLines}
rules:
  - id: testers
    effect: allow
    principal: {groups: [testers]}
    resource: {tags: {env: [test]}}
    actions: [invoke, invoke-stream]
`, env);
  return { gateway, tester: token(dir, 'alice', ['testers']), outsider: token(dir, 'mallory', ['outsiders']) };
}

/** Stops the children of these started processes (any not started is skipped), one after another. */
export async function stopAll(...started) {
  for (const s of started) await s?.child.stop();
}

/** The official client on one endpoint's OpenAI routes through the gateway: no retries, 30 s timeout. */
export function openaiClient(gateway, endpoint, apiKey) {
  return new OpenAI({ baseURL: `${gateway.url}/endpoints/${endpoint}/openai/v1`, apiKey, maxRetries: 0, timeout: 30_000 });
}

/** Reads a chat completion stream to its end: every chunk, when each arrived, and the text. */
export async function readStream(stream) {
  const chunks = [];
  const arrivals = [];
  let text = '';
  for await (const chunk of stream) {
    arrivals.push(Date.now());
    chunks.push(chunk);
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  return { chunks, arrivals, text };
}

export function token(dir, sub, groups) {
  const argv = ['-jar', JAR, 'token', '--sub', sub, '--key-dir', join(dir, 'keys')];
  if (groups.length) argv.push('--groups', groups.join(','));
  const out = execFileSync('java', argv, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return out.trim().split('\n').pop().trim();
}
