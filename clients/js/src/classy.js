// Classy's three sequencing modes (docs/classy.md) on the GraphPipe client: downloader ->
// preprocessor -> model, chained by the client, by the servers, or by a route in `config`.
import { GraphPipeClient, GraphPipeError } from './client.js';
import { Tensor } from './tensor.js';

export const Sequencing = Object.freeze({ Client: 'client', Server: 'server', Hybrid: 'hybrid' });

const LabelOutputs = ['top_labels', 'top_scores'];

export class ClassyPipeline {
  /**
   * @param {{model: string, preprocessor: string, downloader: string, chainedPreprocessor: string, chainedDownloader: string}} endpoints
   *   where this client reaches each stage (e.g. same-origin proxy paths)
   * @param {{preprocessor: string, model: string}} route the stages' own addresses, as the stages
   *   reach each other: what hybrid sequencing names in `config`
   * @param {GraphPipeClient} client
   */
  constructor(endpoints, route, client = new GraphPipeClient()) {
    this.endpoints = endpoints;
    this.route = route;
    this.client = client;
  }

  /**
   * Classifies one image: its bytes (Uint8Array) or an http(s) URL (string).
   * @returns {Promise<{labels: {label: string, score: number}[], answeredBy: string, path: string[], calls: number, bytesSent: number, bytesReceived: number, ms: number}>}
   */
  async classify(image, mode, { signal } = {}) {
    const byUrl = typeof image === 'string';
    const input = Tensor.fromStrings([image]);
    const started = now();
    const steps = [];
    const call = async (stage, url, inputs, { config = '', outputNames = [] } = {}) => {
      const answer = await this.client.infer(url, { inputs, config, outputNames, stage, signal });
      steps.push(answer);
      return answer.outputs;
    };

    let outputs;
    let answeredBy;
    let path;
    switch (mode) {
      case Sequencing.Client: {
        let images = input;
        if (byUrl) images = (await call('downloader', this.endpoints.downloader, [input]))[0];
        const tensor = (await call('preprocessor', this.endpoints.preprocessor, [images]))[0];
        outputs = await call('model', this.endpoints.model, [tensor], { outputNames: LabelOutputs });
        answeredBy = 'model';
        path = byUrl ? ['downloader', 'preprocessor', 'model'] : ['preprocessor', 'model'];
        break;
      }
      case Sequencing.Server:
        answeredBy = byUrl ? 'downloader' : 'preprocessor';
        outputs = await call(answeredBy, byUrl ? this.endpoints.chainedDownloader : this.endpoints.chainedPreprocessor, [input], { outputNames: LabelOutputs });
        path = byUrl ? ['downloader', 'preprocessor', 'model'] : ['preprocessor', 'model'];
        break;
      case Sequencing.Hybrid:
        // One hop is the plain-URL config of the original pipelines; several are passed on stage by stage.
        answeredBy = byUrl ? 'downloader' : 'preprocessor';
        outputs = await call(answeredBy, byUrl ? this.endpoints.downloader : this.endpoints.preprocessor, [input], {
          outputNames: LabelOutputs,
          config: byUrl ? `${this.route.preprocessor} ${this.route.model}` : this.route.model,
        });
        path = byUrl ? ['downloader', 'preprocessor', 'model'] : ['preprocessor', 'model'];
        break;
      default:
        throw new RangeError(`unknown sequencing mode '${mode}'`);
    }

    return {
      labels: readLabels(outputs, answeredBy),
      answeredBy,
      path,
      calls: steps.length,
      bytesSent: steps.reduce((n, s) => n + s.bytesSent, 0),
      bytesReceived: steps.reduce((n, s) => n + s.bytesReceived, 0),
      ms: now() - started,
    };
  }
}

/** top_labels [1,k] (string) and top_scores [1,k] (float32) as [{label, score}], best first. */
export function readLabels(outputs, stage) {
  const [labels, scores] = outputs;
  if (!labels?.isString || !scores || scores.isString) {
    throw new GraphPipeError(stage, 'no top_labels/top_scores in the answer (is the model started with --labels?)', { kind: 'format' });
  }
  const names = labels.toStrings();
  const values = scores.toArray();
  return names.map((label, i) => ({ label, score: Number(values[i]) }));
}

function now() {
  return globalThis.performance?.now() ?? Date.now();
}
