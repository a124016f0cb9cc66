// The GraphPipe wire format (schema/graphpipe.fbs) on the flatbuffers runtime: requests and
// responses to and from bytes. Reading checks every offset against the message, so a truncated or
// hostile message is a GraphPipeFormatError, never a read past the end.
import { Builder, ByteBuffer } from 'flatbuffers';
import { Tensor, TensorType } from './tensor.js';

/** graphpipe.Req union tags. */
export const RequestKind = Object.freeze({ Infer: 1, Metadata: 2 });

export class GraphPipeFormatError extends Error {
  constructor(message) {
    super(message);
    this.name = 'GraphPipeFormatError';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const asBytes = s => (s instanceof Uint8Array ? s : encoder.encode(String(s)));

// ---- writing -------------------------------------------------------------------------------
// Children before parents, vectors back to front: the order the flatbuffers builders of every
// language use, so the same content gives the same bytes as the Python and Go writers.

function offsetVector(b, offsets) {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

function stringVector(b, items) {
  return offsetVector(b, items.map(s => b.createString(asBytes(s))));
}

function int64Vector(b, items) {
  b.startVector(8, items.length, 8);
  for (let i = items.length - 1; i >= 0; i--) b.addInt64(BigInt(items[i]));
  return b.endVector();
}

function writeTensor(b, t) {
  const shape = int64Vector(b, t.shape);
  const data = t.isString ? 0 : b.createByteVector(t.data ?? new Uint8Array(0));
  const strings = t.isString ? stringVector(b, t.strings) : 0;
  b.startObject(4);
  b.addFieldInt8(0, t.type, 0);
  b.addFieldOffset(1, shape, 0);
  if (data) b.addFieldOffset(2, data, 0);
  if (strings) b.addFieldOffset(3, strings, 0);
  return b.endObject();
}

function finish(b, root) {
  b.finish(root);
  return b.asUint8Array();
}

/**
 * An inference request.
 * @param {{inputs: Tensor[], inputNames?: string[], outputNames?: string[], config?: string}} request
 */
export function encodeInferRequest({ inputs, inputNames = [], outputNames = [], config = '' }) {
  const b = new Builder(1024 + inputs.reduce((n, t) => n + t.byteLength + 16 * (t.strings?.length ?? 0), 0));
  const configOffset = b.createString(asBytes(config));
  const names = stringVector(b, inputNames);
  const tensors = offsetVector(b, inputs.map(t => writeTensor(b, t)));
  const outs = stringVector(b, outputNames);
  b.startObject(4);
  b.addFieldOffset(0, configOffset, 0);
  b.addFieldOffset(1, names, 0);
  b.addFieldOffset(2, tensors, 0);
  b.addFieldOffset(3, outs, 0);
  return finishRequest(b, RequestKind.Infer, b.endObject());
}

export function encodeMetadataRequest() {
  const b = new Builder(64);
  b.startObject(0);
  return finishRequest(b, RequestKind.Metadata, b.endObject());
}

function finishRequest(b, kind, body) {
  b.startObject(2);
  b.addFieldInt8(0, kind, 0);
  b.addFieldOffset(1, body, 0);
  return finish(b, b.endObject());
}

/** An inference response (what a server writes): outputs and/or errors ({code, message}). */
export function encodeInferResponse(outputs, errors = []) {
  const b = new Builder(1024 + outputs.reduce((n, t) => n + t.byteLength, 0));
  const tensors = offsetVector(b, outputs.map(t => writeTensor(b, t)));
  const errorOffsets = errors.map(e => {
    const message = b.createString(asBytes(e.message));
    b.startObject(2);
    b.addFieldInt64(0, BigInt(e.code), 0n);
    b.addFieldOffset(1, message, 0);
    return b.endObject();
  });
  const errorVector = offsetVector(b, errorOffsets);
  b.startObject(2);
  b.addFieldOffset(0, tensors, 0);
  b.addFieldOffset(1, errorVector, 0);
  return finish(b, b.endObject());
}

/** A metadata response: {name, version, server, description, inputs, outputs}, each io {name, description, shape, type}. */
export function encodeMetadataResponse(m) {
  const b = new Builder(512);
  const strs = ['name', 'version', 'server', 'description'].map(k => b.createString(asBytes(m[k] ?? '')));
  const io = list => offsetVector(b, list.map(x => {
    const name = b.createString(asBytes(x.name));
    const description = b.createString(asBytes(x.description ?? ''));
    const shape = int64Vector(b, x.shape);
    b.startObject(4);
    b.addFieldOffset(0, name, 0);
    b.addFieldOffset(1, description, 0);
    b.addFieldOffset(2, shape, 0);
    b.addFieldInt8(3, x.type, 0);
    return b.endObject();
  }));
  const inputs = io(m.inputs ?? []);
  const outputs = io(m.outputs ?? []);
  b.startObject(6);
  strs.forEach((s, i) => b.addFieldOffset(i, s, 0));
  b.addFieldOffset(4, inputs, 0);
  b.addFieldOffset(5, outputs, 0);
  return finish(b, b.endObject());
}

// ---- reading -------------------------------------------------------------------------------

/** Bounds-checked access to one flatbuffers message. */
class Reader {
  constructor(bytes) {
    if (!(bytes instanceof Uint8Array)) bytes = new Uint8Array(bytes);
    if (bytes.length < 8) throw new GraphPipeFormatError(`message of ${bytes.length} bytes is too short`);
    this.bytes = bytes;
    this.bb = new ByteBuffer(bytes);
  }

  check(pos, size, what) {
    if (!Number.isInteger(pos) || pos < 0 || pos + size > this.bytes.length) {
      throw new GraphPipeFormatError(`${what} at ${pos} (+${size}) is outside the ${this.bytes.length}-byte message`);
    }
    return pos;
  }

  root() {
    return this.table(this.check(this.bb.readUint32(0), 4, 'root table'), 'root table');
  }

  table(pos, what) {
    this.check(pos, 4, what);
    const vtable = pos - this.bb.readInt32(pos);
    this.check(vtable, 4, `${what} vtable`);
    const vtableSize = this.bb.readUint16(vtable);
    this.check(vtable, vtableSize, `${what} vtable`);
    return { pos, vtable, vtableSize, what };
  }

  /** Absolute position of field `index` of table `t`, or 0 if absent. */
  field(t, index, size) {
    const slot = 4 + 2 * index;
    if (slot + 2 > t.vtableSize) return 0;
    const rel = this.bb.readUint16(t.vtable + slot);
    return rel === 0 ? 0 : this.check(t.pos + rel, size, `${t.what} field ${index}`);
  }

  uint8(t, index, fallback = 0) {
    const p = this.field(t, index, 1);
    return p ? this.bb.readUint8(p) : fallback;
  }

  int64(t, index) {
    const p = this.field(t, index, 8);
    return p ? this.bb.readInt64(p) : 0n;
  }

  indirect(t, index) {
    const p = this.field(t, index, 4);
    return p ? this.check(p + this.bb.readUint32(p), 4, `${t.what} field ${index} target`) : 0;
  }

  vector(t, index, elementSize) {
    const p = this.indirect(t, index);
    if (!p) return null;
    const length = this.bb.readUint32(p);
    this.check(p + 4, length * elementSize, `${t.what} vector ${index}`);
    return { start: p + 4, length };
  }

  bytesAt(pos, what) {
    const length = this.bb.readUint32(this.check(pos, 4, what));
    this.check(pos + 4, length, what);
    return this.bytes.subarray(pos + 4, pos + 4 + length);
  }

  string(t, index) {
    const p = this.indirect(t, index);
    return p ? this.bytesAt(p, `${t.what} string ${index}`) : null;
  }

  text(t, index) {
    const s = this.string(t, index);
    return s ? decoder.decode(s) : '';
  }

  tables(t, index, what) {
    const v = this.vector(t, index, 4);
    if (!v) return [];
    return Array.from({ length: v.length }, (_, i) => {
      const p = v.start + 4 * i;
      return this.table(p + this.bb.readUint32(p), `${what}[${i}]`);
    });
  }

  strings(t, index) {
    const v = this.vector(t, index, 4);
    if (!v) return [];
    return Array.from({ length: v.length }, (_, i) => {
      const p = v.start + 4 * i;
      return this.bytesAt(p + this.bb.readUint32(p), `${t.what} string ${i}`);
    });
  }

  int64s(t, index) {
    const v = this.vector(t, index, 8);
    if (!v) return [];
    return Array.from({ length: v.length }, (_, i) => Number(this.bb.readInt64(v.start + 8 * i)));
  }

  tensor(t) {
    const type = this.uint8(t, 0);
    if (type > TensorType.String) throw new GraphPipeFormatError(`${t.what}: unknown tensor type ${type}`);
    const shape = this.int64s(t, 1);
    if (type === TensorType.String) return new Tensor(type, shape, { strings: this.strings(t, 3) });
    const v = this.vector(t, 2, 1);
    return new Tensor(type, shape, { data: v ? this.bytes.subarray(v.start, v.start + v.length) : new Uint8Array(0) });
  }
}

/** An inference response: {outputs: Tensor[], errors: {code: number, message: string}[]}. Tensors view the given bytes. */
export function decodeInferResponse(bytes) {
  const r = new Reader(bytes);
  const root = r.root();
  return {
    outputs: r.tables(root, 0, 'output_tensors').map(t => r.tensor(t)),
    errors: r.tables(root, 1, 'errors').map(e => ({ code: Number(r.int64(e, 0)), message: r.text(e, 1) })),
  };
}

/** A metadata response: {name, version, server, description, inputs, outputs}; io entries {name, description, shape, type}. */
export function decodeMetadataResponse(bytes) {
  const r = new Reader(bytes);
  const root = r.root();
  const io = index => r.tables(root, index, index === 4 ? 'inputs' : 'outputs').map(t => ({
    name: r.text(t, 0), description: r.text(t, 1), shape: r.int64s(t, 2), type: r.uint8(t, 3),
  }));
  return { name: r.text(root, 0), version: r.text(root, 1), server: r.text(root, 2), description: r.text(root, 3), inputs: io(4), outputs: io(5) };
}

/** A request (what a server reads): {kind: 'infer', config, inputNames, inputs, outputNames} or {kind: 'metadata'}. */
export function decodeRequest(bytes) {
  const r = new Reader(bytes);
  const root = r.root();
  const kind = r.uint8(root, 0);
  if (kind === RequestKind.Metadata) return { kind: 'metadata' };
  if (kind !== RequestKind.Infer) throw new GraphPipeFormatError(`unknown request kind ${kind}`);
  const body = r.table(r.indirect(root, 1), 'InferRequest');
  return {
    kind: 'infer',
    config: r.text(body, 0),
    inputNames: r.strings(body, 1).map(s => decoder.decode(s)),
    inputs: r.tables(body, 2, 'input_tensors').map(t => r.tensor(t)),
    outputNames: r.strings(body, 3).map(s => decoder.decode(s)),
  };
}
