#!/usr/bin/env python3
"""A generic Open Inference Protocol (KServe v2) gRPC client that needs only Debian packages:
python3-grpcio, python3-protobuf and protobuf-compiler (protoc). No generated gRPC stubs: the
methods are called by their full names, the way grpcurl does.

  protoc -I src/GraphPipe.Server.OpenInference/Protos --python_out=/tmp open_inference_grpc.proto
  PYTHONPATH=/tmp python3 samples/OpenInference/oip_grpc_client.py 127.0.0.1:8001 preprocess image.jpg

Sends the files as one BYTES tensor (named after the model's first input) and prints the outputs.
Set GRAPHPIPE_NEXT to name the rest of the route (hybrid sequencing).
"""
import os
import struct
import sys

import grpc
import open_inference_grpc_pb2 as oip

SERVICE = "/inference.GRPCInferenceService/"


def call(channel, method, request, response_type):
    rpc = channel.unary_unary(SERVICE + method, request_serializer=request.__class__.SerializeToString,
                              response_deserializer=response_type.FromString)
    return rpc(request, timeout=30)


def main():
    target, model, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    with grpc.insecure_channel(target) as channel:
        print("ServerLive:", call(channel, "ServerLive", oip.ServerLiveRequest(), oip.ServerLiveResponse).live)
        meta = call(channel, "ModelMetadata", oip.ModelMetadataRequest(name=model), oip.ModelMetadataResponse)
        print("ModelMetadata:", meta.name, "versions", list(meta.versions),
              "inputs", [(t.name, t.datatype, list(t.shape)) for t in meta.inputs],
              "outputs", [(t.name, t.datatype, list(t.shape)) for t in meta.outputs])
        request = oip.ModelInferRequest(model_name=model, id="py-1")
        tensor = request.inputs.add(name=meta.inputs[0].name, datatype="BYTES", shape=[len(files)])
        tensor.contents.bytes_contents.extend(open(f, "rb").read() for f in files)
        if os.environ.get("GRAPHPIPE_NEXT"):
            request.parameters["graphpipe_next"].string_param = os.environ["GRAPHPIPE_NEXT"]
        response = call(channel, "ModelInfer", request, oip.ModelInferResponse)
        print("ModelInfer:", response.model_name, response.model_version, response.id)
        for output in response.outputs:
            c = output.contents
            values = [b.decode() for b in c.bytes_contents] or list(c.fp32_contents) or list(c.int64_contents)
            print(f"  {output.name} {output.datatype} {list(output.shape)}: {values}")


if __name__ == "__main__":
    main()
