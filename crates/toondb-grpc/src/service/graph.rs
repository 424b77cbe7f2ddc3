//! `toondb.v1.Graph`: the graph's JSON command interface over gRPC.

use tonic::{Request, Response, Status};

use super::{conn_of, db_err, on_target, ToonService};
use crate::pb;

/// Largest `args_json` accepted (bytes); the message size limit applies as well.
const MAX_ARGS_BYTES: usize = 16 << 20;

#[tonic::async_trait]
impl pb::graph_server::Graph for ToonService {
    async fn call(
        &self,
        req: Request<pb::GraphCallRequest>,
    ) -> Result<Response<pb::GraphCallResponse>, Status> {
        let conn = conn_of(&req);
        let r = req.into_inner();
        if r.args_json.len() > MAX_ARGS_BYTES {
            return Err(Status::invalid_argument(format!(
                "args_json is {} bytes; the limit is {MAX_ARGS_BYTES}",
                r.args_json.len()
            )));
        }
        let args = toondb::graph::json::parse_args(&r.args_json).map_err(db_err)?;
        let slot = self.slot(conn, r.txn)?;
        let result = self
            .blocking(move |db| {
                on_target(db, slot.as_deref(), |mut t| {
                    t.graph_call(&r.namespace, &r.op, &args)
                })
            })
            .await?;
        Ok(Response::new(pb::GraphCallResponse {
            result_json: result.to_string(),
        }))
    }
}
