// A GraphPipe client over fetch (browsers and Node 20+): POST flatbuffers, read flatbuffers back,
// count the bytes each way, and turn every failure into a GraphPipeError that names the stage.
import { decodeInferResponse, decodeMetadataResponse, encodeInferRequest, encodeMetadataRequest, GraphPipeFormatError } from './wire.js';

export class GraphPipeError extends Error {
  /**
   * @param {string} stage which stage failed (the name the caller gave it, else its URL)
   * @param {string} message what went wrong, as the stage said it
   * @param {{status?: number, kind?: 'http'|'unreachable'|'format'|'remote', url?: string}} details
   */
  constructor(stage, message, { status = 0, kind = 'http', url = '' } = {}) {
    super(`${stage}: ${message}`);
    this.name = 'GraphPipeError';
    this.stage = stage;
    this.remoteMessage = message;
    this.status = status;
    this.kind = kind;
    this.url = url;
  }
}

/** Traffic of one client: calls made and body bytes sent and received. */
export class Traffic {
  constructor() {
    this.calls = 0;
    this.bytesSent = 0;
    this.bytesReceived = 0;
  }
}

export class GraphPipeClient {
  /**
   * @param {{fetch?: typeof fetch, traffic?: Traffic, headers?: Record<string,string>}} options
   *   fetch: the transport (default globalThis.fetch); traffic: where bytes are counted.
   */
  constructor({ fetch: transport = globalThis.fetch.bind(globalThis), traffic = new Traffic(), headers = {} } = {}) {
    this.fetch = transport;
    this.traffic = traffic;
    this.headers = headers;
  }

  /**
   * Runs one inference on the stage at `url`.
   * @param {string} url the stage's endpoint
   * @param {{inputs: import('./tensor.js').Tensor[], inputNames?: string[], outputNames?: string[], config?: string, stage?: string, signal?: AbortSignal}} request
   * @returns {Promise<{outputs: import('./tensor.js').Tensor[], bytesSent: number, bytesReceived: number, ms: number, serverTiming: Record<string, number>}>}
   */
  async infer(url, { inputs, inputNames = [], outputNames = [], config = '', stage = url, signal } = {}) {
    const body = encodeInferRequest({ inputs, inputNames, outputNames, config });
    const answer = await this.#post(url, body, stage, signal);
    let decoded;
    try {
      decoded = decodeInferResponse(answer.bytes);
    } catch (e) {
      throw new GraphPipeError(stage, `unreadable response: ${e.message}`, { status: answer.status, kind: 'format', url });
    }
    if (decoded.errors.length > 0) {
      throw new GraphPipeError(stage, decoded.errors.map(e => e.message).join('; '), { status: answer.status, kind: 'remote', url });
    }
    return { outputs: decoded.outputs, bytesSent: body.length, bytesReceived: answer.bytes.length, ms: answer.ms, serverTiming: answer.serverTiming };
  }

  /** The stage's metadata (flatbuffers MetadataRequest), decoded. */
  async metadata(url, { stage = url, signal } = {}) {
    const answer = await this.#post(url, encodeMetadataRequest(), stage, signal);
    try {
      return decodeMetadataResponse(answer.bytes);
    } catch (e) {
      throw new GraphPipeError(stage, `unreadable metadata: ${e.message}`, { status: answer.status, kind: 'format', url });
    }
  }

  async #post(url, body, stage, signal) {
    const started = now();
    let response;
    this.traffic.calls++;
    this.traffic.bytesSent += body.length;
    try {
      response = await this.fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/octet-stream', ...this.headers },
        signal,
      });
    } catch (e) {
      if (e?.name === 'AbortError') throw e;
      throw new GraphPipeError(stage, `unreachable (${e?.message ?? e})`, { kind: 'unreachable', url });
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    this.traffic.bytesReceived += bytes.length;
    if (!response.ok) {
      const text = new TextDecoder().decode(bytes).trim();
      // A reverse proxy answers 502/503/504 with no GraphPipe text when the stage behind it is down.
      const down = [502, 503, 504].includes(response.status) && !text.startsWith('[');
      const message = down ? `stage is down or unreachable (HTTP ${response.status})` : `HTTP ${response.status}${text ? `: ${text}` : ''}`;
      throw new GraphPipeError(stage, message, { status: response.status, kind: down ? 'unreachable' : 'http', url });
    }
    return { bytes, status: response.status, ms: now() - started, serverTiming: parseServerTiming(response.headers.get('server-timing')) };
  }
}

function now() {
  return globalThis.performance?.now() ?? Date.now();
}

/** Server-Timing ("decode;dur=0.1, run;dur=12") as {decode: 0.1, run: 12}. */
export function parseServerTiming(header) {
  const timings = {};
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().split(';');
    const dur = params.map(p => p.trim()).find(p => p.startsWith('dur='));
    if (name && dur) timings[name] = Number(dur.slice(4));
  }
  return timings;
}

export { GraphPipeFormatError };
