// The official openai client through sagegate, with only baseURL and apiKey changed: against the
// built-in demo model and against a model container (the demo model run as its own process).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { PermissionDeniedError, AuthenticationError, APIError, NotFoundError } from 'openai';
import { workDir, startDemoModel, startTestersGateway, stopAll, openaiClient, readStream } from './harness.mjs';

let dir; let model; let gateway; let tester; let outsider;

before(async () => {
  dir = workDir();
  model = await startDemoModel();
  ({ gateway, tester, outsider } = await startTestersGateway(dir, `endpoints:
  - name: chat-demo
    tags: {env: test}
    backend: {type: demo}
  - name: chat-container
    tags: {env: test}
    backend: {type: container, url: "${model.url}"}`));
});

after(() => stopAll(gateway, model));

const client = (endpoint, apiKey) => openaiClient(gateway, endpoint, apiKey);

const messages = [{ role: 'user', content: 'great product, fast delivery' }];

for (const endpoint of ['chat-demo', 'chat-container']) {
  test(`${endpoint}: chat completion with usage, audited`, async () => {
    const { data, response } = await client(endpoint, tester).chat.completions
      .create({ model: 'sagegate-demo', messages }).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.model, 'sagegate-demo');
    assert.match(data.choices[0].message.content, /POSITIVE/);
    assert.ok(data.usage.prompt_tokens > 0 && data.usage.completion_tokens > 0);
    const record = JSON.parse(await gateway.child.audit(response.headers.get('x-amzn-requestid')));
    assert.equal(record.subject, 'alice');
    assert.equal(record.action, 'invoke');
    assert.equal(record.api, 'openai/v1/chat/completions');
    assert.equal(record.promptTokens, data.usage.prompt_tokens);
    assert.equal(record.completionTokens, data.usage.completion_tokens);
  });

  test(`${endpoint}: stream, chunks arrive before the end`, async () => {
    const stream = await client(endpoint, tester).chat.completions
      .create({ model: 'sagegate-demo', messages, stream: true });
    const { chunks, arrivals, text } = await readStream(stream);
    for (const chunk of chunks) assert.equal(chunk.usage ?? null, null, 'no usage chunk the client did not ask for');
    assert.match(text, /POSITIVE/);
    assert.ok(arrivals.length > 3, `several chunks, got ${arrivals.length}`);
    // The demo model pauses 25 ms between words (100 ms from the first chunk to the last): a relay
    // that buffered the stream would hand them all over at once.
    assert.ok(arrivals[arrivals.length - 1] - arrivals[0] >= 40, `chunks spread in time: ${arrivals}`);
  });

  test(`${endpoint}: stream with include_usage gets the usage chunk`, async () => {
    const stream = await client(endpoint, tester).chat.completions.create(
      { model: 'sagegate-demo', messages, stream: true, stream_options: { include_usage: true } });
    let usage = null;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    assert.ok(usage && usage.completion_tokens > 0);
  });

  test(`${endpoint}: models list`, async () => {
    const ids = [];
    for await (const m of client(endpoint, tester).models.list()) ids.push(m.id);
    assert.deepEqual(ids, [endpoint]);
  });

  test(`${endpoint}: a denied caller gets PermissionDeniedError`, async () => {
    await assert.rejects(client(endpoint, outsider).chat.completions.create({ model: 'm', messages }),
      (e) => e instanceof PermissionDeniedError && e.status === 403 && /not authorized/.test(e.message));
  });

  test(`${endpoint}: no token gets AuthenticationError`, async () => {
    await assert.rejects(client(endpoint, 'not-a-token').chat.completions.create({ model: 'm', messages }),
      (e) => e instanceof AuthenticationError && e.status === 401);
    const anonymous = new OpenAI({ baseURL: `${gateway.url}/endpoints/${endpoint}/openai/v1`, apiKey: 'unused',
      maxRetries: 0, defaultHeaders: { Authorization: null } });
    await assert.rejects(anonymous.chat.completions.create({ model: 'm', messages }),
      (e) => e instanceof AuthenticationError && e.status === 401);
  });

  test(`${endpoint}: a model error is an APIError with the model's message`, async () => {
    await assert.rejects(client(endpoint, tester).chat.completions.create({ model: 'm', messages: [] }),
      (e) => e instanceof APIError && e.status === 424 && /messages/.test(e.message) && e.error?.type === 'model_error');
  });
}

test('an endpoint that does not exist is refused like a forbidden one', async () => {
  await assert.rejects(client('no-such-endpoint', tester).chat.completions.create({ model: 'm', messages }),
    (e) => e instanceof PermissionDeniedError);
  await assert.rejects(client('chat-demo', tester).embeddings.create({ model: 'm', input: 'x' }),
    (e) => e instanceof NotFoundError);
});
