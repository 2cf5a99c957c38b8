//! The Open Inference Protocol over gRPC (`inference.GRPCInferenceService`). Inputs come as
//! typed `contents` or as `raw_input_contents` (little-endian bytes, as tritonclient sends
//! them); the answer uses the same form the request did.

use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use lathe_core::serve::BadRequest;
use lathe_core::serve::v2::{self, InputTensor, Values, from_raw, raw_bytes};
use tonic::{Code, Request, Response, Status};

use crate::State;
use crate::http::{Refusal, named, predict};
use crate::pb;
use crate::pb::grpc_inference_service_server::{GrpcInferenceService, GrpcInferenceServiceServer};

pub(crate) fn service(state: Arc<State>) -> GrpcInferenceServiceServer<Service> {
    let limit = state.options.max_body;
    GrpcInferenceServiceServer::new(Service { state })
        .max_decoding_message_size(limit)
        .max_encoding_message_size(usize::MAX)
}

#[derive(Debug)]
pub(crate) struct Service {
    state: Arc<State>,
}

fn status(r: Refusal) -> Status {
    let code = match r.0 {
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::SERVICE_UNAVAILABLE => Code::ResourceExhausted,
        StatusCode::PAYLOAD_TOO_LARGE => Code::ResourceExhausted,
        _ => Code::InvalidArgument,
    };
    Status::new(code, r.1)
}

#[tonic::async_trait]
impl GrpcInferenceService for Service {
    async fn server_live(
        &self,
        _: Request<pb::ServerLiveRequest>,
    ) -> Result<Response<pb::ServerLiveResponse>, Status> {
        Ok(Response::new(pb::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<pb::ServerReadyRequest>,
    ) -> Result<Response<pb::ServerReadyResponse>, Status> {
        Ok(Response::new(pb::ServerReadyResponse { ready: true }))
    }

    async fn model_ready(
        &self,
        request: Request<pb::ModelReadyRequest>,
    ) -> Result<Response<pb::ModelReadyResponse>, Status> {
        let r = request.into_inner();
        let version = Some(r.version.as_str()).filter(|v| !v.is_empty());
        named(&self.state, &r.name, version).map_err(Status::not_found)?;
        Ok(Response::new(pb::ModelReadyResponse { ready: true }))
    }

    async fn server_metadata(
        &self,
        _: Request<pb::ServerMetadataRequest>,
    ) -> Result<Response<pb::ServerMetadataResponse>, Status> {
        let m = v2::server_metadata();
        Ok(Response::new(pb::ServerMetadataResponse {
            name: m.name.to_owned(),
            version: m.version.to_owned(),
            extensions: m.extensions.iter().map(|e| (*e).to_owned()).collect(),
        }))
    }

    async fn model_metadata(
        &self,
        request: Request<pb::ModelMetadataRequest>,
    ) -> Result<Response<pb::ModelMetadataResponse>, Status> {
        let r = request.into_inner();
        let version = Some(r.version.as_str()).filter(|v| !v.is_empty());
        named(&self.state, &r.name, version).map_err(Status::not_found)?;
        let served = &self.state.served;
        let tensors = |list: Vec<(String, &'static str, Vec<i64>)>| {
            list.into_iter()
                .map(
                    |(name, datatype, shape)| pb::model_metadata_response::TensorMetadata {
                        name,
                        datatype: datatype.to_owned(),
                        shape,
                    },
                )
                .collect()
        };
        Ok(Response::new(pb::ModelMetadataResponse {
            name: served.name.clone(),
            versions: if served.version.is_empty() {
                vec![]
            } else {
                vec![served.version.clone()]
            },
            platform: "onnx".into(),
            inputs: tensors(served.input_metadata()),
            outputs: tensors(served.output_metadata()),
        }))
    }

    async fn model_infer(
        &self,
        request: Request<pb::ModelInferRequest>,
    ) -> Result<Response<pb::ModelInferResponse>, Status> {
        let start = Instant::now();
        let answer = self.infer(request.into_inner()).await;
        let code = match &answer {
            Ok(_) => 200,
            Err(s) => match s.code() {
                Code::NotFound => 404,
                Code::ResourceExhausted => 503,
                _ => 400,
            },
        };
        self.state
            .metrics
            .answered("grpc", code, start.elapsed().as_secs_f64());
        answer.map(Response::new)
    }
}

impl Service {
    async fn infer(&self, r: pb::ModelInferRequest) -> Result<pb::ModelInferResponse, Status> {
        let state = &self.state;
        let version = Some(r.model_version.as_str()).filter(|v| !v.is_empty());
        named(state, &r.model_name, version).map_err(Status::not_found)?;
        let raw = !r.raw_input_contents.is_empty();
        let inputs = inputs(&r).map_err(|e| Status::invalid_argument(e.0))?;
        let rows = state
            .served
            .rows(&inputs)
            .map_err(|e| Status::invalid_argument(e.0))?;
        let prediction = predict(state, rows).await.map_err(status)?;
        let asked: Vec<String> = r.outputs.iter().map(|o| o.name.clone()).collect();
        let outputs = state
            .served
            .output_tensors(&prediction, &asked)
            .map_err(|e| Status::invalid_argument(e.0))?;
        let mut response = pb::ModelInferResponse {
            model_name: state.served.name.clone(),
            model_version: state.served.version.clone(),
            id: r.id,
            ..Default::default()
        };
        for o in outputs {
            let (contents, bytes) = if raw {
                (None, Some(raw_bytes(&o.values)))
            } else {
                (Some(contents(o.values.clone())), None)
            };
            response
                .outputs
                .push(pb::model_infer_response::InferOutputTensor {
                    name: o.name.clone(),
                    datatype: o.datatype.to_owned(),
                    shape: o.shape.clone(),
                    parameters: Default::default(),
                    contents,
                });
            response.raw_output_contents.extend(bytes);
        }
        Ok(response)
    }
}

/// The request's inputs, from raw bytes or typed contents, each checked against its shape.
fn inputs(r: &pb::ModelInferRequest) -> Result<Vec<InputTensor>, BadRequest> {
    let raw = !r.raw_input_contents.is_empty();
    if raw && r.raw_input_contents.len() != r.inputs.len() {
        return Err(BadRequest(format!(
            "the request has {} inputs and {} raw_input_contents; give one per input",
            r.inputs.len(),
            r.raw_input_contents.len()
        )));
    }
    r.inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let n = v2::element_count(&input.name, &input.shape)?;
            let values = if raw {
                from_raw(&input.name, &input.datatype, &r.raw_input_contents[i], n)?
            } else {
                from_contents(&input.name, &input.datatype, input.contents.as_ref())?
            };
            if values.len() != n {
                return Err(BadRequest(format!(
                    "input '{}': shape {:?} needs {n} values, the request has {}",
                    input.name,
                    input.shape,
                    values.len()
                )));
            }
            Ok(InputTensor {
                name: input.name.clone(),
                datatype: input.datatype.clone(),
                shape: input.shape.clone(),
                values,
            })
        })
        .collect()
}

fn from_contents(
    name: &str,
    datatype: &str,
    contents: Option<&pb::InferTensorContents>,
) -> Result<Values, BadRequest> {
    let empty = pb::InferTensorContents::default();
    let c = contents.unwrap_or(&empty);
    Ok(match datatype {
        "FP32" => Values::F32(c.fp32_contents.clone()),
        "FP64" => Values::F64(c.fp64_contents.clone()),
        "INT64" => Values::I64(c.int64_contents.clone()),
        "INT32" | "INT16" | "INT8" => {
            Values::I64(c.int_contents.iter().map(|&v| i64::from(v)).collect())
        }
        "UINT32" | "UINT16" | "UINT8" => {
            Values::I64(c.uint_contents.iter().map(|&v| i64::from(v)).collect())
        }
        "UINT64" => Values::F64(c.uint64_contents.iter().map(|&v| v as f64).collect()),
        "BOOL" => Values::Bool(c.bool_contents.clone()),
        "BYTES" => Values::Bytes(c.bytes_contents.clone()),
        other => {
            return Err(BadRequest(format!(
                "input '{name}': datatype {other:?} is not one of the protocol's (FP32, FP64, INT64, INT32, BOOL, BYTES, ...)"
            )));
        }
    })
}

fn contents(values: Values) -> pb::InferTensorContents {
    let mut c = pb::InferTensorContents::default();
    match values {
        Values::F32(v) => c.fp32_contents = v,
        Values::F64(v) => c.fp64_contents = v,
        Values::I64(v) => c.int64_contents = v,
        Values::Bool(v) => c.bool_contents = v,
        Values::Bytes(v) => c.bytes_contents = v,
    }
    c
}
