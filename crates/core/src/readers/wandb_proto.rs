//! The few `wandb_internal` protobuf messages a run reader needs, written by hand (no protoc).
//! Field numbers are those of wandb 0.31's `wandb_internal.proto` (tests/fixtures/wandb/README.md
//! lists them). `Record.record_type` is a oneof; only its cases read here are declared, as plain
//! optional fields (the same bytes on the wire). Everything else (telemetry, stats, output,
//! files, artifacts) is skipped by the decoder without being copied.

#[derive(Clone, PartialEq, prost::Message)]
pub struct Record {
    #[prost(int64, tag = "1")]
    pub num: i64,
    #[prost(message, optional, tag = "2")]
    pub history: Option<HistoryRecord>,
    #[prost(message, optional, tag = "3")]
    pub summary: Option<UpdateRecord>,
    #[prost(message, optional, tag = "5")]
    pub config: Option<UpdateRecord>,
    #[prost(message, optional, tag = "17")]
    pub run: Option<RunRecord>,
    #[prost(message, optional, tag = "18")]
    pub exit: Option<RunExitRecord>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoryRecord {
    #[prost(message, repeated, tag = "1")]
    pub item: Vec<HistoryItem>,
    #[prost(message, optional, tag = "2")]
    pub step: Option<HistoryStep>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoryStep {
    #[prost(int64, tag = "1")]
    pub num: i64,
}

/// A history value: `value_json`, and with `x_history_value_encoding="json,typed"` also one of
/// the typed cases 3-8 (declared as optional fields: the oneof's bytes on the wire).
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoryItem {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, repeated, tag = "2")]
    pub nested_key: Vec<String>,
    #[prost(int32, optional, tag = "3")]
    pub none: Option<i32>,
    #[prost(bool, optional, tag = "4")]
    pub boolean: Option<bool>,
    #[prost(sint64, optional, tag = "5")]
    pub integer: Option<i64>,
    #[prost(double, optional, tag = "6")]
    pub number: Option<f64>,
    #[prost(string, optional, tag = "7")]
    pub text: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub json: Option<String>,
    #[prost(string, tag = "16")]
    pub value_json: String,
}

/// `ConfigRecord` and `SummaryRecord` (the same shape).
#[derive(Clone, PartialEq, prost::Message)]
pub struct UpdateRecord {
    #[prost(message, repeated, tag = "1")]
    pub update: Vec<Item>,
    #[prost(message, repeated, tag = "2")]
    pub remove: Vec<Item>,
}

/// `ConfigItem` and `SummaryItem`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Item {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, repeated, tag = "2")]
    pub nested_key: Vec<String>,
    #[prost(string, tag = "16")]
    pub value_json: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RunRecord {
    #[prost(string, tag = "1")]
    pub run_id: String,
    #[prost(string, tag = "2")]
    pub entity: String,
    #[prost(string, tag = "3")]
    pub project: String,
    #[prost(message, optional, tag = "4")]
    pub config: Option<UpdateRecord>,
    #[prost(message, optional, tag = "5")]
    pub summary: Option<UpdateRecord>,
    #[prost(string, tag = "6")]
    pub run_group: String,
    #[prost(string, tag = "7")]
    pub job_type: String,
    #[prost(string, tag = "8")]
    pub display_name: String,
    #[prost(string, tag = "9")]
    pub notes: String,
    #[prost(string, repeated, tag = "10")]
    pub tags: Vec<String>,
    #[prost(string, tag = "12")]
    pub sweep_id: String,
    #[prost(string, tag = "13")]
    pub host: String,
    #[prost(message, optional, tag = "17")]
    pub start_time: Option<Timestamp>,
    #[prost(bool, tag = "18")]
    pub resumed: bool,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RunExitRecord {
    #[prost(int32, tag = "1")]
    pub exit_code: i32,
    #[prost(int32, tag = "2")]
    pub runtime: i32,
}
