// Tensors as GraphPipe carries them: a type, a shape and either raw little-endian bytes (numbers)
// or a list of byte strings (type String).

/** graphpipe.Type, as in schema/graphpipe.fbs. */
export const TensorType = Object.freeze({
  Null: 0, Uint8: 1, Int8: 2, Uint16: 3, Int16: 4, Uint32: 5, Int32: 6,
  Uint64: 7, Int64: 8, Float16: 9, Float32: 10, Float64: 11, String: 12,
});

const names = Object.fromEntries(Object.entries(TensorType).map(([k, v]) => [v, k.toLowerCase()]));

/** Bytes per element of each numeric type (0: not numeric). */
export function elementSize(type) {
  switch (type) {
    case TensorType.Uint8: case TensorType.Int8: return 1;
    case TensorType.Uint16: case TensorType.Int16: case TensorType.Float16: return 2;
    case TensorType.Uint32: case TensorType.Int32: case TensorType.Float32: return 4;
    case TensorType.Uint64: case TensorType.Int64: case TensorType.Float64: return 8;
    default: return 0;
  }
}

export function typeName(type) {
  return names[type] ?? `type ${type}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bytesOf(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof value === 'string') return encoder.encode(value);
  throw new TypeError('a string tensor element must be a string, Uint8Array or ArrayBuffer');
}

function count(shape) {
  return shape.reduce((n, d) => n * Number(d), 1);
}

export class Tensor {
  /**
   * @param {number} type a TensorType
   * @param {number[]} shape dimensions (numbers; -1 is not allowed in data)
   * @param {{data?: Uint8Array, strings?: Uint8Array[]}} content raw bytes or byte strings
   */
  constructor(type, shape, { data = null, strings = null } = {}) {
    this.type = type;
    this.shape = shape.map(Number);
    this.data = data;
    this.strings = strings;
  }

  /** A string tensor (shape [n] unless given) of JS strings (UTF-8) and/or byte arrays. */
  static fromStrings(items, shape = [items.length]) {
    const strings = items.map(bytesOf);
    if (count(shape) !== strings.length) throw new RangeError(`shape [${shape}] does not hold ${strings.length} strings`);
    return new Tensor(TensorType.String, shape, { strings });
  }

  /** A float32 tensor over the bytes of a Float32Array (no copy). */
  static float32(values, shape = [values.length]) {
    const array = values instanceof Float32Array ? values : Float32Array.from(values);
    if (count(shape) !== array.length) throw new RangeError(`shape [${shape}] does not hold ${array.length} floats`);
    return new Tensor(TensorType.Float32, shape, { data: new Uint8Array(array.buffer, array.byteOffset, array.byteLength) });
  }

  get isString() {
    return this.type === TensorType.String;
  }

  /** Number of elements the shape describes (1 for a scalar). */
  get size() {
    return count(this.shape);
  }

  /** Bytes the tensor's content takes on the wire (without flatbuffers framing). */
  get byteLength() {
    return this.isString ? this.strings.reduce((n, s) => n + s.length, 0) : (this.data?.length ?? 0);
  }

  /** The string elements decoded as UTF-8. */
  toStrings() {
    if (!this.isString) throw new TypeError(`tensor is ${typeName(this.type)}, not string`);
    return this.strings.map(s => decoder.decode(s));
  }

  /** The numbers as a typed array (copied when the wire bytes are not aligned for it). Int64/Uint64 give BigInt64Array/BigUint64Array. */
  toArray() {
    const Ctor = {
      [TensorType.Uint8]: Uint8Array, [TensorType.Int8]: Int8Array,
      [TensorType.Uint16]: Uint16Array, [TensorType.Int16]: Int16Array, [TensorType.Float16]: Uint16Array,
      [TensorType.Uint32]: Uint32Array, [TensorType.Int32]: Int32Array, [TensorType.Float32]: Float32Array,
      [TensorType.Uint64]: BigUint64Array, [TensorType.Int64]: BigInt64Array, [TensorType.Float64]: Float64Array,
    }[this.type];
    if (!Ctor) throw new TypeError(`tensor is ${typeName(this.type)}, not numeric`);
    const data = this.data ?? new Uint8Array(0);
    if (data.length % Ctor.BYTES_PER_ELEMENT !== 0) throw new RangeError(`${data.length} bytes is not a whole number of ${typeName(this.type)} elements`);
    const aligned = data.byteOffset % Ctor.BYTES_PER_ELEMENT === 0;
    const source = aligned ? data : new Uint8Array(data); // a copy starts at offset 0
    return new Ctor(source.buffer, source.byteOffset, source.length / Ctor.BYTES_PER_ELEMENT);
  }
}
