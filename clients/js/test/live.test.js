// Against live stages (a Classy stack started by tests/GraphPipe.FunctionalTests/Classy/JsClientTests.cs,
// or your own): GRAPHPIPE_TEST_STAGES is JSON {model, preprocessor, downloader, chainedPreprocessor,
// chainedDownloader, route: {preprocessor, model}}; GRAPHPIPE_TEST_IMAGE a local image file,
// GRAPHPIPE_TEST_IMAGE_URL the same image served over HTTP, GRAPHPIPE_TEST_LABEL its class as the model
// called in-process gives it, GRAPHPIPE_TEST_MISSING_URL a URL that answers 404.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ClassyPipeline, GraphPipeClient, GraphPipeError, Sequencing, Tensor, TensorType, Traffic } from '../src/index.js';

const env = process.env;
const stages = env.GRAPHPIPE_TEST_STAGES ? JSON.parse(env.GRAPHPIPE_TEST_STAGES) : null;
const skip = stages ? false : 'no live stages: set GRAPHPIPE_TEST_STAGES (JsClientTests.cs does)';
const image = () => new Uint8Array(readFileSync(env.GRAPHPIPE_TEST_IMAGE));
const modes = [Sequencing.Client, Sequencing.Server, Sequencing.Hybrid];

test('metadata: the model stage describes its input and its label outputs', { skip }, async () => {
  const metadata = await new GraphPipeClient().metadata(stages.model, { stage: 'model' });
  assert.equal(metadata.inputs.length, 1);
  assert.equal(metadata.inputs[0].type, TensorType.Float32);
  assert.deepEqual(metadata.outputs.slice(0, 2).map(o => [o.name, o.type]), [['top_labels', TensorType.String], ['top_scores', TensorType.Float32]]);
});

test('infer: the preprocessor turns image bytes into the float tensor the model takes', { skip }, async () => {
  const client = new GraphPipeClient();
  const metadata = await client.metadata(stages.model);
  const { outputs, bytesSent, bytesReceived } = await client.infer(stages.preprocessor, { inputs: [Tensor.fromStrings([image()])], stage: 'preprocessor' });
  assert.equal(outputs[0].type, TensorType.Float32);
  assert.deepEqual(outputs[0].shape.slice(1), metadata.inputs[0].shape.slice(1));
  assert.equal(outputs[0].toArray().length, outputs[0].size);
  assert.ok(bytesReceived > outputs[0].size * 4, `received ${bytesReceived} B`);
  assert.ok(bytesSent > image().length, `sent ${bytesSent} B`);
});

for (const byUrl of [false, true]) {
  test(`classify ${byUrl ? 'by URL' : 'image bytes'}: every mode gives the class the model gives in-process`, { skip }, async () => {
    const results = {};
    for (const mode of modes) {
      const traffic = new Traffic();
      const pipeline = new ClassyPipeline(stages, stages.route, new GraphPipeClient({ traffic }));
      const result = await pipeline.classify(byUrl ? env.GRAPHPIPE_TEST_IMAGE_URL : image(), mode);
      assert.equal(result.labels[0].label, env.GRAPHPIPE_TEST_LABEL, mode);
      assert.ok(result.labels[0].score > 0 && result.labels[0].score <= 1, `${mode} score ${result.labels[0].score}`);
      assert.deepEqual([traffic.bytesSent, traffic.bytesReceived, traffic.calls], [result.bytesSent, result.bytesReceived, result.calls]);
      results[mode] = result;
    }
    // Client sequencing carries the float tensor (4 bytes per element) to the model itself, on top of what server sequencing sends.
    const metadata = await new GraphPipeClient().metadata(stages.model);
    const tensorBytes = 4 * metadata.inputs[0].shape.slice(1).reduce((a, b) => a * b, 1);
    assert.equal(results.client.calls, byUrl ? 3 : 2);
    assert.ok(results.client.bytesSent > results.server.bytesSent + tensorBytes, `client ${results.client.bytesSent} B vs server ${results.server.bytesSent} B + tensor ${tensorBytes} B`);
    if (byUrl) assert.ok(results.client.bytesSent > 100 * results.server.bytesSent, `client ${results.client.bytesSent} B vs server ${results.server.bytesSent} B`);
    assert.equal(results.server.calls, 1);
    assert.equal(results.hybrid.calls, 1);
    // Hybrid sends the same input plus the route.
    assert.ok(results.hybrid.bytesSent > results.server.bytesSent, `hybrid ${results.hybrid.bytesSent} B vs server ${results.server.bytesSent} B`);
    assert.ok(results.hybrid.bytesSent < results.server.bytesSent + 200);
  });
}

test('errors: not an image is a 400 from the preprocessor, named', { skip }, async () => {
  const client = new GraphPipeClient();
  await assert.rejects(client.infer(stages.preprocessor, { inputs: [Tensor.fromStrings(['this is text, not an image'])], stage: 'preprocessor' }), e => {
    assert.ok(e instanceof GraphPipeError);
    assert.equal(e.stage, 'preprocessor');
    assert.equal(e.status, 400);
    assert.match(e.message, /^preprocessor: HTTP 400: \[preprocess\]/);
    return true;
  });
});

test('errors: a URL that answers 404 fails at the downloader, named, in every mode', { skip }, async () => {
  const pipeline = new ClassyPipeline(stages, stages.route);
  for (const mode of modes) {
    await assert.rejects(pipeline.classify(env.GRAPHPIPE_TEST_MISSING_URL, mode), e => {
      assert.equal(e.stage, 'downloader', mode);
      assert.ok(e.status >= 400 && e.status < 600, `${mode}: ${e.status}`);
      assert.match(e.message, /\[download\]/, mode);
      assert.match(e.message, /404/, mode);
      return true;
    });
  }
});

test('errors: a stage nobody listens on is unreachable, named', { skip }, async () => {
  const client = new GraphPipeClient();
  await assert.rejects(client.infer('http://127.0.0.1:9/', { inputs: [Tensor.fromStrings(['x'])], stage: 'model' }), e => {
    assert.equal(e.kind, 'unreachable');
    assert.match(e.message, /^model: unreachable/);
    return true;
  });
});

test('errors: a config route the stage refuses comes back as its error', { skip }, async () => {
  const pipeline = new ClassyPipeline(stages, { preprocessor: 'ftp://example.invalid/', model: stages.route.model });
  await assert.rejects(pipeline.classify(env.GRAPHPIPE_TEST_IMAGE_URL, Sequencing.Hybrid), e => {
    assert.equal(e.stage, 'downloader');
    assert.ok(e.status >= 400 && e.status < 500, String(e.status));
    return true;
  });
});
