"""Round trip of a Runlens bundle with the real tools (tests/bundle_serve.rs runs this).

Loads the original MLflow model and the bundle's `model/` with mlflow.pyfunc and predicts the
logged input example; starts the bundle's `serve/serve.sh` (MLflow's scoring server) and, with
--mlserver, `mlserver start serve/`, and asks each over HTTP on loopback. Prints one JSON object
with every prediction; the Rust test compares them.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped (exit {proc.returncode}) before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"no answer from {url} in {seconds} s")


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def start(cmd, env, cwd, log):
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except Exception:
        os.killpg(proc.pid, signal.SIGKILL)


def main():
    original, bundle = sys.argv[1], sys.argv[2]
    mlserver = "--mlserver" in sys.argv
    import mlflow.pyfunc
    from mlflow.models import Model

    import pandas as pd

    model_dir = os.path.join(bundle, "model")
    example = Model.load(model_dir).load_input_example(model_dir)
    # Beyond the three logged rows: a fixed grid of 343 rows over the features' range, so a model
    # that answers one class everywhere cannot pass.
    steps = [-2.0 + 4.0 * i / 6 for i in range(7)]
    grid = pd.DataFrame(
        [[a, b, c] for a in steps for b in steps for c in steps], columns=list(example.columns)
    )
    original_model = mlflow.pyfunc.load_model(original)
    bundle_model = mlflow.pyfunc.load_model(model_dir)
    out = {
        "original": original_model.predict(example).tolist(),
        "bundle": bundle_model.predict(example).tolist(),
        "original_grid": original_model.predict(grid).tolist(),
        "bundle_grid": bundle_model.predict(grid).tolist(),
    }
    with open(os.path.join(model_dir, "serving_input_example.json")) as f:
        serving_input = json.load(f)
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    log = open(os.path.join(bundle, "..", "serve.log"), "w")
    port = free_port()
    proc = start([os.path.join(bundle, "serve", "serve.sh")], dict(env, PORT=str(port)), "/", log)
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", proc)
        url = f"http://127.0.0.1:{port}/invocations"
        out["mlflow_serve"] = post(url, serving_input)["predictions"]
        out["mlflow_serve_grid"] = post(url, {"dataframe_split": grid.to_dict(orient="split", index=False)})["predictions"]
    finally:
        stop(proc)
    if mlserver:
        http, grpc, metrics = free_port(), free_port(), free_port()
        menv = dict(env, MLSERVER_HTTP_PORT=str(http), MLSERVER_GRPC_PORT=str(grpc),
                    MLSERVER_METRICS_PORT=str(metrics), MLSERVER_PARALLEL_WORKERS="0")
        proc = start(["mlserver", "start", os.path.join(bundle, "serve")], menv, "/", log)
        try:
            settings = json.load(open(os.path.join(bundle, "serve", "model-settings.json")))
            name = settings["name"]
            wait_http(f"http://127.0.0.1:{http}/v2/models/{name}/ready", proc)
            split = serving_input["dataframe_split"]
            columns = list(zip(*split["data"]))
            body = {
                "parameters": {"content_type": "pd"},
                "inputs": [
                    {"name": c, "shape": [len(v)], "datatype": "FP64", "data": list(v)}
                    for c, v in zip(split["columns"], columns)
                ],
            }
            answer = post(f"http://127.0.0.1:{http}/v2/models/{name}/infer", body)
            out["mlserver"] = answer["outputs"][0]["data"]
        finally:
            stop(proc)
    print(json.dumps(out))


main()
