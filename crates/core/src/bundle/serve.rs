//! What a bundle's `serve/` gets for a version's flavor.
//!
//! - An MLflow pyfunc model: a start script for MLflow's scoring server (offline,
//!   `--env-manager local`), a Dockerfile doing the same from the model's own `requirements.txt`,
//!   and an MLServer `model-settings.json` (Open Inference Protocol v2, through MLServer's MLflow
//!   runtime, which loads any pyfunc model whatever its serialization).
//! - An ONNX model (MLflow's onnx flavor, or a registered `.onnx` file): a Triton model
//!   repository (`triton/<name>/config.pbtxt`, onnxruntime backend) with a start script that puts
//!   the model in place, and a Dockerfile on NVIDIA's Triton image.
//!
//! A README says how to run each. Nothing here names a host or a time: bundles are reproducible.

use serde_json::{json, Value};

use super::Body;
use crate::registry::event::canonical;
use crate::registry::fold::VersionState;

/// `name` as a Docker image or Triton model name: lower case, `[a-z0-9-]`.
fn plain_name(name: &str) -> String {
    name.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-")
}

fn flavors(v: &VersionState) -> Option<&serde_json::Map<String, Value>> {
    v.lineage.pointer("/model/flavors").and_then(Value::as_object)
}

fn is_pyfunc(v: &VersionState) -> bool {
    flavors(v).is_some_and(|f| f.contains_key("python_function"))
}

/// The ONNX file of an ONNX model, by its path under `model/`.
fn onnx_file(v: &VersionState) -> Option<String> {
    let named = flavors(v)
        .and_then(|f| f.get("onnx"))
        .and_then(|o| o.get("data"))
        .and_then(Value::as_str)
        .filter(|p| v.files.iter().any(|f| f.path == *p));
    let found = match named {
        Some(p) => Some(p.to_string()),
        None => {
            let mut onnx = v.files.iter().filter(|f| f.path.to_ascii_lowercase().ends_with(".onnx"));
            match (onnx.next(), onnx.next()) {
                (Some(f), None) => Some(f.path.clone()),
                _ => None,
            }
        }
    };
    // It goes into a shell script: plain names only.
    found.filter(|p| p.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c)))
}

/// One line per way `serve/` offers to serve `v`, for the export dialog.
pub(super) fn recipes(v: &VersionState) -> Vec<&'static str> {
    let mut out = Vec::new();
    if is_pyfunc(v) {
        out.push("MLflow scoring server, offline: serve/serve.sh");
        out.push("Docker image from the model's requirements.txt: serve/Dockerfile");
        out.push("MLServer (Open Inference Protocol v2): serve/model-settings.json");
    }
    if onnx_file(v).is_some() {
        out.push("NVIDIA Triton, onnxruntime backend: serve/triton.sh, serve/triton/");
    }
    out
}

/// The files of `serve/` for `v`, by path inside the bundle.
pub(super) fn files(name: &str, v: &VersionState) -> Vec<(String, Body<'static>)> {
    let mut out = Vec::new();
    let mut readme = format!("# Serving {name} version {}\n\n", v.version);
    if is_pyfunc(v) {
        pyfunc(name, v, &mut out, &mut readme);
    }
    if let Some(file) = onnx_file(v) {
        triton(name, &file, &mut out, &mut readme);
    }
    if !out.is_empty() {
        out.push(("serve/README.md".into(), Body::Bytes(readme.into_bytes())));
    }
    out
}

fn pyfunc(name: &str, v: &VersionState, out: &mut Vec<(String, Body<'static>)>, readme: &mut String) {
    let python = flavors(v)
        .and_then(|f| f.get("python_function"))
        .and_then(|f| f.get("python_version"))
        .and_then(Value::as_str)
        .and_then(|p| {
            let mut parts = p.split('.');
            Some(format!("{}.{}", parts.next()?, parts.next()?))
        })
        .filter(|p| p.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .unwrap_or_else(|| "3.11".into());
    let has = |f: &str| v.files.iter().any(|x| x.path == f);
    let script = "#!/bin/sh\n\
# Serves ../model offline with MLflow's scoring server on http://${HOST:-127.0.0.1}:${PORT:-5000}/invocations\n\
# (install ../model/requirements.txt first, e.g. in a virtualenv).\n\
set -e\n\
cd \"$(dirname \"$0\")\"\n\
exec mlflow models serve -m ../model --env-manager local --host \"${HOST:-127.0.0.1}\" --port \"${PORT:-5000}\"\n";
    let reqs = if has("requirements.txt") {
        "COPY model/requirements.txt /srv/model/requirements.txt\nRUN pip install --no-cache-dir -r /srv/model/requirements.txt\n"
    } else {
        "RUN pip install --no-cache-dir mlflow\n"
    };
    let image = plain_name(name);
    let docker = format!(
        "# Build from the bundle's folder: docker build -f serve/Dockerfile -t {image} .\n\
FROM python:{python}-slim\n\
WORKDIR /srv\n\
{reqs}COPY model/ /srv/model/\n\
EXPOSE 8080\n\
CMD [\"mlflow\", \"models\", \"serve\", \"-m\", \"/srv/model\", \"--env-manager\", \"local\", \"--host\", \"0.0.0.0\", \"--port\", \"8080\"]\n",
    );
    let mut settings = canonical(&json!({
        "name": name,
        "implementation": "mlserver_mlflow.MLflowRuntime",
        "parameters": {"uri": "../model", "version": v.version.to_string()},
    }));
    settings.push(b'\n');
    readme.push_str(&format!(
        "- MLflow, offline: `pip install -r model/requirements.txt`, then `serve/serve.sh` (POST JSON to http://127.0.0.1:5000/invocations).\n\
- Docker: from the bundle's folder, `docker build -f serve/Dockerfile -t {image} . && docker run -p 8080:8080 {image}`.\n\
- MLServer (Open Inference Protocol v2): `pip install mlserver mlserver-mlflow`, then `mlserver start serve/` (POST to /v2/models/{name}/infer).\n",
    ));
    out.push(("serve/Dockerfile".into(), Body::Bytes(docker.into_bytes())));
    out.push(("serve/model-settings.json".into(), Body::Bytes(settings)));
    out.push(("serve/serve.sh".into(), Body::Script(script.as_bytes().to_vec())));
}

fn triton(name: &str, file: &str, out: &mut Vec<(String, Body<'static>)>, readme: &mut String) {
    let model = plain_name(name);
    // Triton reads the inputs and outputs from the ONNX file itself (auto-complete).
    let config = format!("name: \"{model}\"\nbackend: \"onnxruntime\"\nmax_batch_size: 0\n");
    let script = format!(
        "#!/bin/sh\n\
# Serves ../model/{file} with NVIDIA Triton Inference Server (onnxruntime backend) on\n\
# http://${{HOST:-127.0.0.1}}:${{PORT:-8000}}/v2/models/{model}/infer. Triton wants the model inside\n\
# its repository: this links it into serve/triton/{model}/1/model.onnx first.\n\
set -e\n\
cd \"$(dirname \"$0\")\"\n\
mkdir -p triton/{model}/1\n\
ln -sf \"$(pwd)/../model/{file}\" triton/{model}/1/model.onnx\n\
exec tritonserver --model-repository \"$(pwd)/triton\" --http-port \"${{PORT:-8000}}\"\n",
    );
    let docker = format!(
        "# Build from the bundle's folder: docker build -f serve/Dockerfile.triton -t {model}-triton .\n\
FROM nvcr.io/nvidia/tritonserver:24.08-py3\n\
COPY serve/triton/ /models/\n\
COPY model/{file} /models/{model}/1/model.onnx\n\
EXPOSE 8000 8001 8002\n\
CMD [\"tritonserver\", \"--model-repository=/models\"]\n",
    );
    readme.push_str(&format!(
        "- Triton (onnxruntime backend): `serve/triton.sh` where `tritonserver` is installed, or \
`docker build -f serve/Dockerfile.triton -t {model}-triton . && docker run -p 8000:8000 {model}-triton` \
(POST to /v2/models/{model}/infer). Or load `model/{file}` with `onnxruntime.InferenceSession`.\n",
    ));
    out.push(("serve/Dockerfile.triton".into(), Body::Bytes(docker.into_bytes())));
    out.push((format!("serve/triton/{model}/config.pbtxt"), Body::Bytes(config.into_bytes())));
    out.push(("serve/triton.sh".into(), Body::Script(script.into_bytes())));
}
