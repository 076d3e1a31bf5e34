// The official openai client through sagegate's sagemaker backend to the SageMaker emulator, which
// checks what AWS checks on its OpenAI path: the bearer token minted from the caller's scoped
// session (signature, expiry, session token) and the session policy (CallWithBearerToken, and
// InvokeEndpoint on the endpoint in the path).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionDeniedError, AuthenticationError, APIError, InternalServerError } from 'openai';
import { workDir, startEmulator, startTestersGateway, stopAll, openaiClient, readStream } from './harness.mjs';

// Test-only credentials the emulator itself defines; not AWS secrets.
const KEY = 'AKIAGATEWAYCONFORM01';
const SECRET = 'conformance-secret-known-only-to-the-emulator';
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const EXTERNAL_ID = 'sagegate-openai-conformance';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/sagegate-invoke-llm`;

let dir; let emulator; let gateway; let tester; let outsider;

before(async () => {
  dir = workDir();
  emulator = await startEmulator(dir, {
    region: REGION, accountId: ACCOUNT,
    credentials: [{ accessKeyId: KEY, secretAccessKey: SECRET }],
    roles: [{ arn: ROLE, trustedAccessKey: KEY, externalId: EXTERNAL_ID,
      actions: ['sagemaker:InvokeEndpoint', 'sagemaker:CallWithBearerToken'], resources: ['*'] }],
    endpoints: [
      // 100 ms between streamed events: well above the jitter of a loaded CI machine, so chunks
      // that arrive bunched mean the relay buffered.
      { name: 'llm', behaviour: 'OK', eventGapMillis: 100 },
      { name: 'llm-broken', behaviour: 'MODEL_ERROR', modelError: { originalStatusCode: 400, originalMessage: 'max_tokens too large' } },
      { name: 'llm-cold', behaviour: 'NO_CAPACITY' },
    ],
  });
  const endpoints = ['llm', 'llm-broken', 'llm-cold'].map((name) => `
  - name: ${name}
    tags: {env: test}
    backend: {type: sagemaker, roleArn: "${ROLE}", timeout: 10s, openai: {enabled: true}}`).join('');
  ({ gateway, tester, outsider } = await startTestersGateway(dir, `aws:
  region: ${REGION}
  accountId: "${ACCOUNT}"
  externalId: ${EXTERNAL_ID}
  stsEndpoint: ${emulator.url}
  sagemakerRuntimeEndpoint: ${emulator.url}
endpoints:${endpoints}`, {
    AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: REGION,
    AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  }));
});

after(() => stopAll(gateway, emulator));

const client = (endpoint, apiKey) => openaiClient(gateway, endpoint, apiKey);
const messages = [{ role: 'user', content: 'hello' }];

async function emulatorRequests() {
  return (await fetch(`${emulator.inspect}/requests`)).json();
}

test('chat reaches the emulator under a bearer token from the caller\'s session', async () => {
  const { data, response } = await client('llm', tester).chat.completions
    .create({ model: 'my-model', messages }).withResponse();
  assert.equal(data.model, 'my-model');
  assert.equal(data.choices[0].message.content, 'Hello from llm');
  const record = JSON.parse(await gateway.child.audit(response.headers.get('x-amzn-requestid')));
  assert.equal(record.sourceIdentity, 'alice');
  assert.equal(record.roleArn, ROLE);
  assert.equal(record.promptTokens, 7);
  assert.equal(record.completionTokens, 3);
  const requests = await emulatorRequests();
  const chat = requests.filter((r) => r.operation === 'OpenAiChatCompletions').pop();
  assert.equal(chat.status, 200);
  assert.match(chat.sessionPolicy, /sagemaker:CallWithBearerToken/);
});

test('stream, chunks arrive before the end, the added usage chunk metered and dropped', async () => {
  const stream = await client('llm', tester).chat.completions.create({ model: 'm', messages, stream: true });
  const { chunks, arrivals, text } = await readStream(stream);
  for (const chunk of chunks) assert.equal(chunk.usage ?? null, null);
  assert.equal(text, 'Hello from llm');
  // Four events 100 ms apart: even with the first chunk held up 150 ms by a busy machine, the
  // last arrives at least 150 ms after it; a relay that buffered hands them over together.
  assert.ok(arrivals.length >= 3 && arrivals[arrivals.length - 1] - arrivals[0] >= 150, `${arrivals}`);
});

test('models list', async () => {
  const ids = [];
  for await (const m of client('llm', tester).models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['llm']);
});

test('a denied caller gets PermissionDeniedError, no token AuthenticationError', async () => {
  await assert.rejects(client('llm', outsider).chat.completions.create({ model: 'm', messages }),
    (e) => e instanceof PermissionDeniedError);
  await assert.rejects(client('llm', 'not-a-jwt').chat.completions.create({ model: 'm', messages }),
    (e) => e instanceof AuthenticationError);
});

test('a model error is an APIError with the model\'s message and no account id', async () => {
  await assert.rejects(client('llm-broken', tester).chat.completions.create({ model: 'm', messages }),
    (e) => e instanceof APIError && e.status === 424 && /max_tokens too large/.test(e.message)
      && !e.message.includes(ACCOUNT) && !/console\.aws/.test(e.message));
});

test('no capacity is a 503 with Retry-After', async () => {
  await assert.rejects(client('llm-cold', tester).chat.completions.create({ model: 'm', messages }),
    (e) => e instanceof InternalServerError && e.status === 503 && e.headers.get('retry-after') === '60'
      && !e.message.includes(ACCOUNT));
});
