//! A Spark Connect client that does what Lathe needs of a Spark cluster: run SQL and bring back
//! its (small) results as polars frames, read a table's schema, expose a table or a file the
//! cluster reads as a view, and interrupt what it runs. It speaks Spark 4's gRPC protocol,
//! compiled from the `.proto` files vendored in `proto/` (Apache Spark 4.3.0, Apache-2.0).
//!
//! The address is Spark Connect's URI, `sc://HOST[:PORT]/;token=…;user_id=…;use_ssl=true`
//! (the port defaults to 15002); Lathe's own parameters (`table`, `path`, `format`) come after a
//! `?` and are read by [`Address::parse`] too. Every call blocks: the client owns a
//! current-thread runtime, as Lathe's core is synchronous.

use std::collections::HashMap;
use std::fmt;
use std::io::Cursor;
use std::time::Duration;

use polars::prelude::*;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

/// Spark Connect's protocol, generated from the vendored `.proto` files.
#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    missing_debug_implementations,
    rustdoc::all
)]
pub mod proto {
    tonic::include_proto!("spark.connect");
}

use proto::spark_connect_service_client::SparkConnectServiceClient;

/// Spark Connect's default port.
pub const DEFAULT_PORT: u16 = 15002;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{address} is not a Spark Connect address: {detail}")]
    Address { address: String, detail: String },
    #[error(
        "cannot reach the Spark Connect server at {address}: {detail} (is it running, and is the port right? Spark's default is 15002)"
    )]
    Unreachable { address: String, detail: String },
    #[error("the Spark Connect server at {address} refused the credentials: {detail}")]
    Denied { address: String, detail: String },
    #[error("Spark could not run the query: {detail}\nquery: {query}")]
    Query { query: String, detail: String },
    #[error("the Spark Connect server at {address} answered something Lathe cannot read: {detail}")]
    Protocol { address: String, detail: String },
    #[error("cancelled")]
    Cancelled,
}

pub type Result<T> = std::result::Result<T, Error>;

/// Where a dataset lives on the cluster: a catalog table, or a file or folder the cluster
/// reads itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Table(String),
    Files {
        path: String,
        /// `parquet`, `csv`, `json`, `orc`, …: from `format=`, else the path's extension.
        format: String,
    },
}

/// A parsed `sc://` address.
#[derive(Clone, PartialEq, Eq)]
pub struct Address {
    pub host: String,
    pub port: u16,
    pub use_ssl: bool,
    token: Option<String>,
    pub user_id: Option<String>,
    /// Other `;key=value` parameters: sent as gRPC headers, as Spark's clients do.
    headers: Vec<(String, String)>,
    /// What `?table=` or `?path=` names, if either.
    pub source: Option<Source>,
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// The address without its credentials: what errors and the project show.
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sc://{}:{}", self.host, self.port)?;
        match &self.source {
            Some(Source::Table(t)) => write!(f, "/?table={t}"),
            Some(Source::Files { path, .. }) => write!(f, "/?path={path}"),
            None => Ok(()),
        }
    }
}

impl Address {
    /// Reads `sc://HOST[:PORT][/][;key=value…][?table=…|path=…[&format=…]]`.
    pub fn parse(text: &str) -> Result<Address> {
        let bad = |detail: &str| Error::Address {
            address: redact(text),
            detail: detail.to_owned(),
        };
        let rest = text
            .strip_prefix("sc://")
            .ok_or_else(|| bad("it must start with sc://"))?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let mut parts = rest.split(';');
        let authority = parts.next().unwrap_or_default().trim_end_matches('/');
        if authority.contains('/') {
            return Err(bad(
                "parameters go after `/;` (sc://host:port/;token=…) and the dataset after `?` (?table=db.tbl or ?path=…)",
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad(&format!("the port `{p}` is not a number")))?,
            ),
            None => (authority, DEFAULT_PORT),
        };
        if host.is_empty() {
            return Err(bad("it names no host (sc://HOST:PORT)"));
        }
        let mut address = Address {
            host: host.to_owned(),
            port,
            use_ssl: false,
            token: None,
            user_id: None,
            headers: Vec::new(),
            source: None,
        };
        for param in parts.filter(|p| !p.is_empty()) {
            let (key, value) = param
                .split_once('=')
                .ok_or_else(|| bad(&format!("the parameter `{param}` has no `=value`")))?;
            let value = decode(value);
            match key {
                "token" => address.token = Some(value),
                "user_id" => address.user_id = Some(value),
                "use_ssl" => {
                    address.use_ssl = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(bad("use_ssl must be true or false")),
                    }
                }
                // Parameters of the Python client that change nothing on the wire here.
                "session_id" | "user_agent" | "grpc_max_message_size" => {}
                _ => address.headers.push((key.to_owned(), value)),
            }
        }
        // A token goes with TLS only, as in Spark's own clients, unless the address says.
        if address.token.is_some() && !text.contains("use_ssl=") {
            address.use_ssl = true;
        }
        if let Some(query) = query {
            let mut table = None;
            let mut path = None;
            let mut format = None;
            for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
                match &*key {
                    "table" => table = Some(value.into_owned()),
                    "path" => path = Some(value.into_owned()),
                    "format" => format = Some(value.to_ascii_lowercase()),
                    "token" => address.token = Some(value.into_owned()),
                    "user_id" => address.user_id = Some(value.into_owned()),
                    "use_ssl" => address.use_ssl = value == "true",
                    other => {
                        return Err(bad(&format!(
                            "unknown parameter `{other}` (Lathe reads table=, path=, format=)"
                        )));
                    }
                }
            }
            address.source = match (table, path) {
                (Some(_), Some(_)) => return Err(bad("give either table= or path=, not both")),
                (Some(t), None) if !t.is_empty() => Some(Source::Table(t)),
                (None, Some(p)) if !p.is_empty() => {
                    let format = match format {
                        Some(f) => f,
                        None => extension_format(&p).ok_or_else(|| {
                            bad("the path's extension does not say its format: add &format=parquet or &format=csv")
                        })?,
                    };
                    Some(Source::Files { path: p, format })
                }
                (None, None) => None,
                _ => return Err(bad("table= or path= is empty")),
            };
        }
        Ok(address)
    }
}

fn extension_format(path: &str) -> Option<String> {
    let name = path.trim_end_matches('/').rsplit('/').next()?;
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    ["parquet", "csv", "json", "orc", "avro", "txt"]
        .contains(&ext.as_str())
        .then(|| if ext == "txt" { "text".into() } else { ext })
}

fn decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// `text` with any `token=` value hidden.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("token=") {
        out.push_str(&rest[..at + 6]);
        out.push('…');
        rest = &rest[at + 6..];
        let end = rest.find([';', '&']).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A column of a schema, with Spark's name for its type.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub kind: Kind,
}

/// What Lathe distinguishes among Spark's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Signed integers of this many bits.
    Int(u8),
    /// Floats of this many bits.
    Float(u8),
    Decimal,
    Bool,
    Text,
    Date,
    Timestamp,
    /// Any other type, by Spark's name for it (arrays, maps, structs, binary, intervals).
    Other(&'static str),
}

impl Kind {
    /// polars' name for the type Lathe reads it as (the profile's `dtype`).
    pub fn polars_name(&self) -> String {
        match self {
            Kind::Int(bits) => format!("i{bits}"),
            Kind::Float(bits) => format!("f{bits}"),
            Kind::Decimal => "decimal".into(),
            Kind::Bool => "bool".into(),
            Kind::Text => "str".into(),
            Kind::Date => "date".into(),
            Kind::Timestamp => "datetime[μs]".into(),
            Kind::Other(name) => (*name).into(),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Kind::Int(_) | Kind::Float(_))
    }
}

/// A connected session: its own temporary views, dropped with it on the server's timeout.
#[derive(Debug)]
pub struct Session {
    address: Address,
    runtime: tokio::runtime::Runtime,
    client: SparkConnectServiceClient<Channel>,
    session_id: String,
    user_id: String,
}

/// A random version-4 UUID, as Spark Connect's session ids are.
fn uuid() -> String {
    let mut b = [0u8; 16];
    // A clock-derived fallback still gives a session of its own on this machine.
    if getrandom::fill(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b = (nanos ^ u128::from(std::process::id())).to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The client's name in the server's logs and UI.
const CLIENT_TYPE: &str = concat!("lathe/", env!("CARGO_PKG_VERSION"));

impl Session {
    /// Connects to `address` (the TCP and, with `use_ssl`, TLS handshake happen here).
    pub fn connect(address: &Address) -> Result<Session> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Unreachable {
                address: address.to_string(),
                detail: format!("cannot start the network runtime: {e}"),
            })?;
        let scheme = if address.use_ssl { "https" } else { "http" };
        let unreachable = |detail: String| Error::Unreachable {
            address: address.to_string(),
            detail,
        };
        let mut endpoint =
            Endpoint::from_shared(format!("{scheme}://{}:{}", address.host, address.port))
                .map_err(|e| unreachable(e.to_string()))?
                .connect_timeout(Duration::from_secs(10))
                .http2_keep_alive_interval(Duration::from_secs(30))
                .keep_alive_while_idle(true);
        if address.use_ssl {
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().with_native_roots())
                .map_err(|e| unreachable(format!("TLS: {e}")))?;
        }
        let channel = runtime
            .block_on(endpoint.connect())
            .map_err(|e| unreachable(error_chain(&e)))?;
        let client = SparkConnectServiceClient::new(channel)
            .max_decoding_message_size(256 << 20)
            .max_encoding_message_size(256 << 20);
        Ok(Session {
            user_id: address
                .user_id
                .clone()
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "lathe".into()),
            address: address.clone(),
            runtime,
            client,
            session_id: uuid(),
        })
    }

    pub fn address(&self) -> &Address {
        &self.address
    }

    fn user_context(&self) -> Option<proto::UserContext> {
        Some(proto::UserContext {
            user_id: self.user_id.clone(),
            user_name: self.user_id.clone(),
            extensions: Vec::new(),
        })
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let metadata: &mut MetadataMap = request.metadata_mut();
        if let Some(token) = &self.address.token
            && let Ok(value) = AsciiMetadataValue::try_from(format!("Bearer {token}"))
        {
            metadata.insert("authorization", value);
        }
        for (key, value) in &self.address.headers {
            if let (Ok(k), Ok(v)) = (
                tonic::metadata::AsciiMetadataKey::from_bytes(key.as_bytes()),
                AsciiMetadataValue::try_from(value.as_str()),
            ) {
                metadata.insert(k, v);
            }
        }
        request
    }

    fn status_error(&self, query: &str, status: tonic::Status) -> Error {
        use tonic::Code;
        let detail = status.message().to_owned();
        match status.code() {
            Code::Unavailable => Error::Unreachable {
                address: self.address.to_string(),
                detail: if detail.is_empty() {
                    "the connection failed".into()
                } else {
                    detail
                },
            },
            Code::Unauthenticated | Code::PermissionDenied => Error::Denied {
                address: self.address.to_string(),
                detail,
            },
            Code::Cancelled => Error::Cancelled,
            Code::Unimplemented => Error::Protocol {
                address: self.address.to_string(),
                detail: format!("it does not implement Spark Connect's service: {detail}"),
            },
            _ => Error::Query {
                query: query.to_owned(),
                detail,
            },
        }
    }

    fn execute_request(&self, op: proto::plan::OpType) -> proto::ExecutePlanRequest {
        proto::ExecutePlanRequest {
            session_id: self.session_id.clone(),
            client_observed_server_side_session_id: None,
            user_context: self.user_context(),
            operation_id: None,
            plan: Some(proto::Plan { op_type: Some(op) }),
            client_type: Some(CLIENT_TYPE.into()),
            request_options: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// Runs `query` and collects its result; `stop` is asked every 100 ms while it runs and,
    /// when it says so, the query is interrupted on the server.
    pub fn sql(&mut self, query: &str, stop: &(dyn Fn() -> bool + Sync)) -> Result<DataFrame> {
        let relation = proto::Relation {
            common: None,
            rel_type: Some(proto::relation::RelType::Sql(proto::Sql {
                query: query.to_owned(),
                ..Default::default()
            })),
        };
        let request = self.execute_request(proto::plan::OpType::Root(relation));
        let batches = self.execute(query, request, stop)?;
        let mut frames = batches.into_iter();
        let Some(first) = frames.next() else {
            return Ok(DataFrame::empty());
        };
        let mut out = self.decode(&first)?;
        for data in frames {
            let frame = self.decode(&data)?;
            out.vstack_mut(&frame)
                .map_err(|e| self.protocol(e.to_string()))?;
        }
        Ok(out)
    }

    /// Names `source` as the temporary view `name` of this session (replacing any earlier),
    /// and returns its columns. Files are read with a header row and inferred types when they
    /// are CSV.
    pub fn create_view(&mut self, name: &str, source: &Source) -> Result<Vec<Field>> {
        use proto::read::{DataSource, NamedTable, ReadType};
        let read_type = match source {
            Source::Table(table) => ReadType::NamedTable(NamedTable {
                unparsed_identifier: table.clone(),
                options: HashMap::new(),
            }),
            Source::Files { path, format } => {
                let mut options = HashMap::new();
                if format == "csv" {
                    options.insert("header".into(), "true".into());
                    options.insert("inferSchema".into(), "true".into());
                }
                ReadType::DataSource(DataSource {
                    format: Some(format.clone()),
                    schema: None,
                    options,
                    paths: vec![path.clone()],
                    predicates: Vec::new(),
                    source_name: None,
                })
            }
        };
        let input = proto::Relation {
            common: None,
            rel_type: Some(proto::relation::RelType::Read(proto::Read {
                read_type: Some(read_type),
                is_streaming: false,
            })),
        };
        let command = proto::Command {
            command_type: Some(proto::command::CommandType::CreateDataframeView(
                proto::CreateDataFrameViewCommand {
                    input: Some(input),
                    name: name.to_owned(),
                    is_global: false,
                    replace: true,
                },
            )),
        };
        let what = format!("CREATE TEMPORARY VIEW {name} from {source:?}");
        let request = self.execute_request(proto::plan::OpType::Command(command));
        self.execute(&what, request, &|| false)?;
        // The view is lazy: read its schema now, so a missing table or path fails here.
        self.schema(name)
    }

    /// The columns of the table or view `name`, in order.
    pub fn schema(&mut self, name: &str) -> Result<Vec<Field>> {
        let query = format!("SELECT * FROM {name}");
        let relation = proto::Relation {
            common: None,
            rel_type: Some(proto::relation::RelType::Sql(proto::Sql {
                query: query.clone(),
                ..Default::default()
            })),
        };
        let request = proto::AnalyzePlanRequest {
            session_id: self.session_id.clone(),
            client_observed_server_side_session_id: None,
            user_context: self.user_context(),
            client_type: Some(CLIENT_TYPE.into()),
            analyze: Some(proto::analyze_plan_request::Analyze::Schema(
                proto::analyze_plan_request::Schema {
                    plan: Some(proto::Plan {
                        op_type: Some(proto::plan::OpType::Root(relation)),
                    }),
                },
            )),
        };
        let request = self.request(request);
        let mut client = self.client.clone();
        let response = self
            .runtime
            .block_on(client.analyze_plan(request))
            .map_err(|s| self.status_error(&query, s))?
            .into_inner();
        let Some(proto::analyze_plan_response::Result::Schema(schema)) = response.result else {
            return Err(self.protocol("AnalyzePlan answered without a schema".into()));
        };
        let Some(proto::data_type::Kind::Struct(fields)) = schema.schema.and_then(|s| s.kind)
        else {
            return Err(self.protocol("the schema is not a struct".into()));
        };
        Ok(fields
            .fields
            .into_iter()
            .map(|f| Field {
                kind: kind(f.data_type.and_then(|t| t.kind).as_ref()),
                name: f.name,
            })
            .collect())
    }

    fn protocol(&self, detail: String) -> Error {
        Error::Protocol {
            address: self.address.to_string(),
            detail,
        }
    }

    fn decode(&self, data: &[u8]) -> Result<DataFrame> {
        IpcStreamReader::new(Cursor::new(data))
            .finish()
            .map_err(|e| self.protocol(format!("an Arrow batch: {e}")))
    }

    /// Sends `request` and gathers the Arrow batches it answers (chunked batches joined).
    fn execute(
        &mut self,
        query: &str,
        request: proto::ExecutePlanRequest,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<Vec<Vec<u8>>> {
        use proto::execute_plan_response::ResponseType;
        let request = self.request(request);
        let mut client = self.client.clone();
        let outcome: std::result::Result<Vec<Vec<u8>>, Option<tonic::Status>> =
            self.runtime.block_on(async {
                let mut ticks = tokio::time::interval(Duration::from_millis(100));
                let call = client.execute_plan(request);
                tokio::pin!(call);
                let mut stream = loop {
                    tokio::select! {
                        r = &mut call => break r.map_err(Some)?.into_inner(),
                        _ = ticks.tick() => if stop() { return Err(None) },
                    }
                };
                let mut batches = Vec::new();
                let mut chunk = Vec::new();
                loop {
                    let message = tokio::select! {
                        m = stream.message() => m.map_err(Some)?,
                        _ = ticks.tick() => { if stop() { return Err(None) } continue }
                    };
                    let Some(message) = message else { break };
                    match message.response_type {
                        Some(ResponseType::ArrowBatch(batch)) => {
                            chunk.extend_from_slice(&batch.data);
                            let last = batch
                                .num_chunks_in_batch
                                .is_none_or(|n| batch.chunk_index.unwrap_or(0) + 1 >= n);
                            if last {
                                batches.push(std::mem::take(&mut chunk));
                            }
                        }
                        Some(ResponseType::ResultComplete(_)) => break,
                        _ => {}
                    }
                }
                Ok(batches)
            });
        match outcome {
            Ok(batches) => Ok(batches),
            Err(Some(status)) => Err(self.status_error(query, status)),
            Err(None) => {
                self.interrupt();
                Err(Error::Cancelled)
            }
        }
    }

    /// Interrupts everything this session runs (best effort: each answer is awaited 5 s at
    /// most). A query cancelled early may not be registered on the server yet (a loaded
    /// server takes seconds to start it), and an interrupt then stops nothing: it is sent
    /// again until the server names an operation it interrupted, for up to 8 s.
    fn interrupt(&mut self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(8);
        loop {
            let request = self.request(proto::InterruptRequest {
                session_id: self.session_id.clone(),
                client_observed_server_side_session_id: None,
                user_context: self.user_context(),
                client_type: Some(CLIENT_TYPE.into()),
                interrupt_type: proto::interrupt_request::InterruptType::All as i32,
                interrupt: None,
            });
            let mut client = self.client.clone();
            let answer = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), client.interrupt(request)).await
            });
            let stopped = matches!(answer, Ok(Ok(r)) if !r.get_ref().interrupted_ids.is_empty());
            if stopped || std::time::Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn kind(kind: Option<&proto::data_type::Kind>) -> Kind {
    use proto::data_type::Kind as K;
    match kind {
        Some(K::Byte(_)) => Kind::Int(8),
        Some(K::Short(_)) => Kind::Int(16),
        Some(K::Integer(_)) => Kind::Int(32),
        Some(K::Long(_)) => Kind::Int(64),
        Some(K::Float(_)) => Kind::Float(32),
        Some(K::Double(_)) => Kind::Float(64),
        Some(K::Decimal(_)) => Kind::Decimal,
        Some(K::Boolean(_)) => Kind::Bool,
        Some(K::String(_) | K::Char(_) | K::VarChar(_)) => Kind::Text,
        Some(K::Date(_)) => Kind::Date,
        Some(K::Timestamp(_) | K::TimestampNtz(_)) => Kind::Timestamp,
        Some(K::Binary(_)) => Kind::Other("binary"),
        Some(K::Array(_)) => Kind::Other("list"),
        Some(K::Map(_)) => Kind::Other("map"),
        Some(K::Struct(_)) => Kind::Other("struct"),
        Some(K::Null(_)) => Kind::Other("null"),
        _ => Kind::Other("object"),
    }
}

/// An error and its causes, one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_spark_connect_and_lathe_write_them() {
        let a =
            Address::parse("sc://spark.example:443/;token=abc;user_id=ana?table=db.sales").unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.use_ssl),
            ("spark.example", 443, true)
        );
        assert_eq!(a.user_id.as_deref(), Some("ana"));
        assert_eq!(a.source, Some(Source::Table("db.sales".into())));
        assert_eq!(a.to_string(), "sc://spark.example:443/?table=db.sales");
        assert!(!format!("{a:?}").contains("abc"));

        let b = Address::parse("sc://127.0.0.1?path=/data/t.csv").unwrap();
        assert_eq!(b.port, DEFAULT_PORT);
        assert_eq!(
            b.source,
            Some(Source::Files {
                path: "/data/t.csv".into(),
                format: "csv".into()
            })
        );
        let c = Address::parse("sc://h:1/?path=s3://b/t/&format=parquet").unwrap();
        assert_eq!(
            c.source,
            Some(Source::Files {
                path: "s3://b/t/".into(),
                format: "parquet".into()
            })
        );
        for bad in [
            "http://h:1",
            "sc://:15002",
            "sc://h:x",
            "sc://h/?path=/data/t",
            "sc://h/?table=a&path=b",
            "sc://h/?tabel=a",
            "sc://h/;use_ssl=maybe",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            redact("sc://h/;token=secret;user_id=u"),
            "sc://h/;token=…;user_id=u"
        );
    }
}
