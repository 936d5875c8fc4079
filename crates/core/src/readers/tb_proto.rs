//! The few TensorBoard protobuf messages a scalar reader needs, written by hand (no protoc).
//! Field numbers are those of `tensorboard/compat/proto/{event,summary,tensor}.proto` and
//! `tensorboard/plugins/hparams/plugin_data.proto`. Fields not declared here (graphs, images,
//! histograms, audio) are skipped by the decoder without being copied.

use std::collections::HashMap;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    #[prost(int64, tag = "2")]
    pub step: i64,
    #[prost(string, optional, tag = "3")]
    pub file_version: Option<String>,
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
    #[prost(message, optional, tag = "7")]
    pub session_log: Option<SessionLog>,
}

/// `SessionLog.status`: START makes TensorBoard drop earlier points at or after this event's step.
pub const SESSION_START: i32 = 1;

#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionLog {
    #[prost(int32, tag = "1")]
    pub status: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<Value>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    #[prost(string, tag = "1")]
    pub tag: String,
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
    #[prost(message, optional, tag = "8")]
    pub tensor: Option<TensorProto>,
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PluginData {
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

// DataType values (tensorflow/core/framework/types.proto) of the tensors a scalar can be.
pub const DT_FLOAT: i32 = 1;
pub const DT_DOUBLE: i32 = 2;
pub const DT_INT32: i32 = 3;
pub const DT_INT64: i32 = 9;
pub const DT_HALF: i32 = 19;

#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    #[prost(bytes = "vec", tag = "4")]
    pub tensor_content: Vec<u8>,
    #[prost(float, repeated, tag = "5")]
    pub float_val: Vec<f32>,
    #[prost(double, repeated, tag = "6")]
    pub double_val: Vec<f64>,
    #[prost(int32, repeated, tag = "7")]
    pub int_val: Vec<i32>,
    #[prost(int64, repeated, tag = "10")]
    pub int64_val: Vec<i64>,
    #[prost(int32, repeated, tag = "13")]
    pub half_val: Vec<i32>,
}

/// IEEE half precision to f64, exactly.
fn half(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = (bits >> 10) & 0x1f;
    let frac = (bits & 0x3ff) as f64;
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e as i32 - 15),
    }
}

impl TensorProto {
    /// The value of a one-element numeric tensor, float32 widened exactly; None for anything else.
    pub fn scalar(&self) -> Option<f64> {
        let c = &self.tensor_content;
        match self.dtype {
            DT_FLOAT if c.len() == 4 => Some(f32::from_le_bytes(c[..].try_into().ok()?) as f64),
            DT_FLOAT if c.is_empty() && self.float_val.len() == 1 => Some(self.float_val[0] as f64),
            DT_DOUBLE if c.len() == 8 => Some(f64::from_le_bytes(c[..].try_into().ok()?)),
            DT_DOUBLE if c.is_empty() && self.double_val.len() == 1 => Some(self.double_val[0]),
            DT_HALF if c.len() == 2 => Some(half(u16::from_le_bytes(c[..].try_into().ok()?))),
            DT_HALF if c.is_empty() && self.half_val.len() == 1 => Some(half(self.half_val[0] as u16)),
            DT_INT32 if c.len() == 4 => Some(i32::from_le_bytes(c[..].try_into().ok()?) as f64),
            DT_INT32 if c.is_empty() && self.int_val.len() == 1 => Some(self.int_val[0] as f64),
            DT_INT64 if c.len() == 8 => Some(i64::from_le_bytes(c[..].try_into().ok()?) as f64),
            DT_INT64 if c.is_empty() && self.int64_val.len() == 1 => Some(self.int64_val[0] as f64),
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HParamsPluginData {
    #[prost(message, optional, tag = "3")]
    pub session_start_info: Option<SessionStartInfo>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionStartInfo {
    #[prost(map = "string, message", tag = "1")]
    pub hparams: HashMap<String, PbValue>,
}

/// `google.protobuf.Value`, the hparams' value type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PbValue {
    #[prost(oneof = "Kind", tags = "2, 3, 4")]
    pub kind: Option<Kind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Kind {
    #[prost(double, tag = "2")]
    Number(f64),
    #[prost(string, tag = "3")]
    Text(String),
    #[prost(bool, tag = "4")]
    Bool(bool),
}

impl PbValue {
    /// The value as a param: integral numbers without ".0" (as TensorBoard's dashboard shows them).
    pub fn as_param(&self) -> Option<String> {
        Some(match self.kind.as_ref()? {
            Kind::Number(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => format!("{}", *x as i64),
            Kind::Number(x) => format!("{x}"),
            Kind::Text(s) => s.clone(),
            Kind::Bool(b) => b.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_widen_exactly() {
        assert_eq!(half(0x3c00), 1.0);
        assert_eq!(half(0xc000), -2.0);
        assert_eq!(half(0x0001), 2f64.powi(-24));
        assert_eq!(half(0x7bff), 65504.0);
        assert!(half(0x7e00).is_nan());
        assert_eq!(half(0xfc00), f64::NEG_INFINITY);
    }
}
