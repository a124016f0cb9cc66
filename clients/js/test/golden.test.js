// Golden fixtures shared with the C# wire tests (tests/GraphPipe.UnitTests/Golden): bytes written by
// an independent implementation (Python flatbuffers, code from flatc) must read here, and our writer
// must produce the very same bytes for the same content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  Tensor, TensorType, GraphPipeFormatError,
  decodeRequest, decodeInferResponse, decodeMetadataResponse,
  encodeInferRequest, encodeMetadataRequest, encodeInferResponse, encodeMetadataResponse,
} from '../src/index.js';

const golden = name => readFileSync(fileURLToPath(new URL(`../../../tests/GraphPipe.UnitTests/Golden/${name.startsWith('ours-') ? `ours/${name}` : name}`, import.meta.url)));
const oddBytes = new Uint8Array([0xff, 0x00, 0xd8, 0x01]);
const floats = [0.5, -1.25, 3.0, 1e-3, 65504.0, -0.0];

// The logical content of tools/golden/spec.py.
const inferRequest = () => ({
  config: 'http://127.0.0.1:9001/next',
  inputNames: ['images', 'labels'],
  inputs: [Tensor.float32(floats, [2, 3]), Tensor.fromStrings(['cat', new Uint8Array(0), oddBytes])],
  outputNames: ['probs'],
});
const inferResponse = () => [
  Tensor.float32([1, 2, 3, 4], [2, 2]),
  new Tensor(TensorType.Int64, [], { data: new Uint8Array(new BigInt64Array([42n]).buffer) }),
  Tensor.fromStrings(['tabby cat', 'tiger']),
];
const errorResponse = [{ code: 3, message: "input 'x': expected float32" }];
const metadata = {
  name: 'resnet18', version: '1.0', server: 'graphpipe-py-golden', description: 'golden fixture',
  inputs: [{ name: 'input', description: 'images', shape: [-1, 3, 224, 224], type: TensorType.Float32 }],
  outputs: [
    { name: 'probs', description: '', shape: [-1, 1000], type: TensorType.Float32 },
    { name: 'labels', description: 'top-k', shape: [-1, 5], type: TensorType.String },
  ],
};

for (const prefix of ['python', 'ours']) {
  test(`decodeRequest: ${prefix}-infer-request.bin reads every field`, () => {
    const request = decodeRequest(golden(`${prefix}-infer-request.bin`));
    assert.equal(request.kind, 'infer');
    assert.equal(request.config, 'http://127.0.0.1:9001/next');
    assert.deepEqual(request.inputNames, ['images', 'labels']);
    assert.deepEqual(request.outputNames, ['probs']);
    const [f, s] = request.inputs;
    assert.equal(f.type, TensorType.Float32);
    assert.deepEqual(f.shape, [2, 3]);
    assert.deepEqual(Array.from(f.toArray()), Array.from(Float32Array.from(floats)));
    assert.ok(Object.is(f.toArray()[5], -0), 'the sign of -0.0 survives');
    assert.equal(s.type, TensorType.String);
    assert.deepEqual(s.strings.map(b => Array.from(b)), [[0x63, 0x61, 0x74], [], Array.from(oddBytes)]);
  });

  test(`decodeRequest: ${prefix}-metadata-request.bin is a metadata request`, () => {
    assert.deepEqual(decodeRequest(golden(`${prefix}-metadata-request.bin`)), { kind: 'metadata' });
  });

  test(`decodeInferResponse: ${prefix}-infer-response.bin reads tensors including a scalar`, () => {
    const { outputs, errors } = decodeInferResponse(golden(`${prefix}-infer-response.bin`));
    assert.deepEqual(errors, []);
    assert.deepEqual(Array.from(outputs[0].toArray()), [1, 2, 3, 4]);
    assert.deepEqual(outputs[0].shape, [2, 2]);
    assert.equal(outputs[1].type, TensorType.Int64);
    assert.deepEqual(outputs[1].shape, []);
    assert.equal(outputs[1].toArray()[0], 42n);
    assert.deepEqual(outputs[2].toStrings(), ['tabby cat', 'tiger']);
  });

  test(`decodeInferResponse: ${prefix}-infer-response-error.bin reads the error`, () => {
    assert.deepEqual(decodeInferResponse(golden(`${prefix}-infer-response-error.bin`)), { outputs: [], errors: errorResponse });
  });

  test(`decodeMetadataResponse: ${prefix}-metadata-response.bin reads every field`, () => {
    assert.deepEqual(decodeMetadataResponse(golden(`${prefix}-metadata-response.bin`)), metadata);
  });
}

test('encodeInferRequest: same content, same bytes as the Python writer', () => {
  assert.deepEqual(Buffer.from(encodeInferRequest(inferRequest())), golden('python-infer-request.bin'));
});

test('encodeMetadataRequest: same bytes as the Python writer', () => {
  assert.deepEqual(Buffer.from(encodeMetadataRequest()), golden('python-metadata-request.bin'));
});

test('encodeInferResponse: same content, same bytes as the Python writer', () => {
  assert.deepEqual(Buffer.from(encodeInferResponse(inferResponse())), golden('python-infer-response.bin'));
});

test('encodeInferResponse: an error response reads back as the fixture does', () => {
  // Not byte-equal: Python's runtime lets the response table share the Error table's vtable (it
  // compares field offsets only), the JS runtime writes the response its own; both are valid.
  const ours = encodeInferResponse([], errorResponse);
  assert.deepEqual(decodeInferResponse(ours), decodeInferResponse(golden('python-infer-response-error.bin')));
  assert.deepEqual(decodeInferResponse(ours), { outputs: [], errors: errorResponse });
});

test('encodeMetadataResponse: same content, same bytes as the Python writer', () => {
  assert.deepEqual(Buffer.from(encodeMetadataResponse(metadata)), golden('python-metadata-response.bin'));
});

test('decode: every truncation of a fixture is a GraphPipeFormatError or a shorter valid read, never another error', () => {
  const bytes = golden('python-infer-response.bin');
  for (let n = 0; n < bytes.length; n++) {
    try {
      decodeInferResponse(bytes.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof GraphPipeFormatError, `length ${n}: ${e}`);
    }
  }
});

test('decode: offsets pointing outside the message are refused', () => {
  const bytes = new Uint8Array(golden('python-metadata-response.bin'));
  new DataView(bytes.buffer).setUint32(0, 0x7fffffff, true);
  assert.throws(() => decodeMetadataResponse(bytes), GraphPipeFormatError);
});
