//! Issue 11's round trip with the real tools: a bundle of a model made by MLflow itself, unpacked
//! with `tar`, checked with `sha256sum -c` and `minisign -V`, loaded with `mlflow.pyfunc`, served
//! by its own `serve/serve.sh` (MLflow's scoring server) and by `mlserver start serve/`, each
//! answering on loopback with exactly the original model's predictions. MLflow, scikit-learn and
//! MLServer come from PyPI into a cached virtualenv (`common::python_venv`); where PyPI cannot be
//! reached the test says so and skips.

use std::process::Command;

use serde_json::Value;

use crate::bundle::{run, B};
use crate::common::*;

#[test]
fn a_bundle_serves_the_same_predictions_with_mlflow_and_mlserver() {
    // The versions the fixture's model was made with (its requirements.txt), and MLServer's.
    let packages = ["mlflow==3.17.2", "scikit-learn==1.9.1", "mlserver==1.7.1", "mlserver-mlflow==1.7.1"];
    let Some(python) = python_venv("bundle-serve", &packages) else { return };
    let b = B::new();
    let tar = b.export(&b.dir.path().join("out"));
    let x = b.dir.path().join("x");
    std::fs::create_dir_all(&x).unwrap();
    run(Command::new("tar").arg("xf").arg(&tar).arg("-C").arg(&x));
    let folder = x.join("churn-1");
    run(Command::new("sha256sum").args(["-c", "--quiet", "SHA256SUMS"]).current_dir(&folder));
    run(Command::new("minisign").args(["-V", "-m", "SHA256SUMS", "-p", "runlens.pub"]).current_dir(&folder));
    let truth = read_json(&fixture("mlflow_registry/truth.json"));
    let original = b
        .project
        .join("mlruns")
        .join(truth["file"]["experiment"]["experiment_id"].as_str().unwrap())
        .join("models")
        .join(truth["file"]["runs"]["wide-C10"]["logged_model_id"].as_str().unwrap())
        .join("artifacts");
    let o = run(Command::new(&python)
        .arg(repo_path("tests/python/bundle_serve.py"))
        .arg(&original)
        .arg(&folder)
        .arg("--mlserver"));
    let got: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        let log = std::fs::read_to_string(x.join("serve.log")).unwrap_or_default();
        panic!("{e}: {}\n{log}", String::from_utf8_lossy(&o.stdout))
    });
    let expected = &got["original"];
    assert_eq!(expected.as_array().unwrap().len(), 3, "the logged input example has three rows: {got}");
    for k in ["bundle", "mlflow_serve", "mlserver"] {
        assert_eq!(&got[k], expected, "{k} predicts what the original predicts on the input example");
    }
    let grid = &got["original_grid"];
    let classes: std::collections::BTreeSet<String> = grid.as_array().unwrap().iter().map(|v| v.to_string()).collect();
    assert!(classes.len() > 1, "the grid tells models apart: {classes:?}");
    assert_eq!(&got["bundle_grid"], grid);
    assert_eq!(&got["mlflow_serve_grid"], grid);
}

/// An ONNX model's bundle: the file `onnxruntime` runs to the same outputs, and a Triton model
/// repository whose start script links the model where Triton looks for it. Triton itself is an
/// NVIDIA container image, not installable here: a stand-in `tritonserver` on PATH records the
/// repository it was given, and the test checks that repository's layout.
#[test]
fn an_onnx_bundle_runs_in_onnxruntime_and_lays_out_a_triton_repository() {
    let b = B::new();
    let truth = read_json(&fixture("mlflow_registry/truth.json"));
    let exp = truth["file"]["experiment"]["experiment_id"].as_str().unwrap();
    let run_id = truth["file"]["runs"]["tuned-C1.0"]["run_id"].as_str().unwrap();
    let artifacts = b.project.join("mlruns").join(exp).join(run_id).join("artifacts/onnx");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::copy(fixture("onnx/model.onnx"), artifacts.join("model.onnx")).unwrap();
    let o = b.cli(&[], &["registry", "register", b.p(), run_id, "onnx/model.onnx", "--name", "churn-onnx"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = b.dir.path().join("out");
    let o = b.cli(&[], &["bundle", b.p(), "churn-onnx@1", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let x = b.dir.path().join("x");
    std::fs::create_dir_all(&x).unwrap();
    run(Command::new("tar").arg("xf").arg(out.join("churn-onnx-1.tar")).arg("-C").arg(&x));
    let folder = x.join("churn-onnx-1");
    run(Command::new("sha256sum").args(["-c", "--quiet", "SHA256SUMS"]).current_dir(&folder));
    let config = std::fs::read_to_string(folder.join("serve/triton/churn-onnx/config.pbtxt")).unwrap();
    assert!(config.contains("name: \"churn-onnx\"") && config.contains("backend: \"onnxruntime\""), "{config}");
    assert!(!folder.join("serve/serve.sh").exists(), "no MLflow scoring server for a bare ONNX file");
    // The start script, with a stand-in tritonserver that prints its model repository.
    let bin = b.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let stub = bin.join("tritonserver");
    std::fs::write(&stub, "#!/bin/sh\necho \"$2\"\n").unwrap();
    run(Command::new("chmod").arg("+x").arg(&stub));
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let o = run(Command::new(folder.join("serve/triton.sh")).env("PATH", path).current_dir("/"));
    let repo = std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    assert_eq!(repo, folder.join("serve/triton"));
    let placed = repo.join("churn-onnx/1/model.onnx");
    assert_eq!(std::fs::read(&placed).unwrap(), std::fs::read(fixture("onnx/model.onnx")).unwrap());
    // The bundled model, run by onnxruntime, gives what the fixture's maker recorded.
    let Some(python) = python_venv("bundle-onnx", &["onnxruntime==1.32.0", "numpy"]) else { return };
    let expected = read_json(&fixture("onnx/expected.json"));
    let o = run(Command::new(&python).arg("-c").arg(format!(
        "import json, numpy, onnxruntime\n\
         s = onnxruntime.InferenceSession({:?})\n\
         x = numpy.array({}, dtype=numpy.float32)\n\
         print(json.dumps(s.run(None, {{'x': x}})[0].tolist()))",
        folder.join("model/model.onnx").to_str().unwrap(),
        expected["input"]
    )));
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(got, expected["output"]);
}
