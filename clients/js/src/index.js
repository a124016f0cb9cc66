// @graphpipe/client: the GraphPipe protocol for browsers and Node (ES modules, on the npm flatbuffers runtime).
export { Tensor, TensorType, elementSize, typeName } from './tensor.js';
export {
  RequestKind, GraphPipeFormatError,
  encodeInferRequest, encodeMetadataRequest, encodeInferResponse, encodeMetadataResponse,
  decodeInferResponse, decodeMetadataResponse, decodeRequest,
} from './wire.js';
export { GraphPipeClient, GraphPipeError, Traffic, parseServerTiming } from './client.js';
export { Sequencing, ClassyPipeline, readLabels } from './classy.js';
