#!/usr/bin/env python3
"""Build Runlens's demo project (assets/demo/) with the real tools.

    FIXTURES_VENV/bin/python assets/make_demo.py [--work /scratch/jobs/demo] [--dest assets/demo]
        [--keras-python ~/.cache/runlens-keras-venv/bin/python]

FIXTURES_VENV is the venv of shared/fixtures/setup_venv.sh (MLflow 3.17.2, matplotlib, numpy, PyYAML).
The Keras part runs tests/fixtures/keras/make_keras_logs.py --demo with --keras-python (Keras 3 +
jax); without that interpreter the Keras history from tests/fixtures/keras/history.csv is copied.

Everything is generated under --work (a neutral folder: MLflow writes absolute artifact URIs into
its metadata), then mlruns/, lightning_logs/, keras/ and logs/ replace those of --dest.
assets/demo/README.md is hand-written and left alone.

Random content comes from numpy.random.default_rng(SEED); wall-clock times (run start/end, metric
timestamps: relative to the time of generation) and MLflow run/experiment ids differ per run.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SEED = 20240611


def parse_args():
    ap = argparse.ArgumentParser(description="build the Runlens demo project")
    ap.add_argument("--work", default="/scratch/jobs/demo", help="scratch folder to generate in")
    ap.add_argument("--dest", default=os.path.join(HERE, "demo"))
    ap.add_argument("--keras-python",
                    default=os.path.expanduser("~/.cache/runlens-keras-venv/bin/python"))
    ap.add_argument("--parts", default="mlruns,lightning_logs,keras,logs,tb,registry,data",
                    help="which folders of the demo to (re)build, comma-separated; `registry` adds the "
                         "model runs and MLflow's registry to mlruns/ and rebuilds .runlens/registry "
                         "with the runlens CLI; `data` makes the versioned customer data with git and "
                         "DVC (assets/demo-data.tar.gz) and sets churn-gbm@2's reference dataset")
    ap.add_argument("--runlens", default=os.path.join(REPO, "target", "release", "runlens"),
                    help="the runlens CLI that writes the demo's registry (built if missing)")
    return ap.parse_args()


def setup_env(home):
    os.makedirs(home, exist_ok=True)
    e = os.environ
    e["MLFLOW_ALLOW_FILE_STORE"] = "true"
    e["MLFLOW_DISABLE_TELEMETRY"] = "true"
    e["DO_NOT_TRACK"] = "true"
    e["HOME"] = home
    e["XDG_CACHE_HOME"] = os.path.join(home, ".cache")
    e["XDG_CONFIG_HOME"] = os.path.join(home, ".config")
    e["MPLCONFIGDIR"] = os.path.join(home, "matplotlib")
    e["MPLBACKEND"] = "Agg"
    e["USER"] = e["LOGNAME"] = "demo"  # becomes the mlflow.user tag
    e["PYTHONWARNINGS"] = "ignore"


if __name__ == "__main__":
    ARGS = parse_args()
    ARGS.work = os.path.abspath(ARGS.work)
    ARGS.dest = os.path.abspath(ARGS.dest)
    setup_env(os.path.join(os.path.dirname(ARGS.work), ".demo_home"))
    sys.argv[0] = "train.py"  # MLflow records it as mlflow.source.name

import csv  # noqa: E402
import tarfile  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

warnings.filterwarnings("ignore")
logging.getLogger("mlflow").setLevel(logging.ERROR)

MIN = 60_000
HOUR = 60 * MIN


def f32(x):
    """Python float with float32 precision, like a framework's tensor.item()."""
    return np.float32(x).item()


# ---------------------------------------------------------------------------
# MLflow file store
# ---------------------------------------------------------------------------

def build_mlflow(work, rng):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param
    from mlflow.tracking.context.registry import resolve_tags

    uri = "file://" + os.path.join(work, "mlruns")
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    now = int(time.time() * 1000)
    base = now - 26 * HOUR

    def create_run(exp_id, name, start, parent=None, tags=None):
        t = resolve_tags(dict(tags or {}))
        t["mlflow.source.name"] = "train.py"
        t = {k: v for k, v in t.items() if not k.startswith("mlflow.source.git")}
        if parent:
            t["mlflow.parentRunId"] = parent
        return client.create_run(exp_id, start_time=start, tags=t, run_name=name).info.run_id

    def log_params(run_id, params):
        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])

    def log_epochs(run_id, series, t0, epoch_ms):
        """series: {key: values per epoch}; one timestamp per epoch, slightly jittered."""
        ms = []
        n = max(len(v) for v in series.values())
        stamps = [int(t0 + (ep + 1) * epoch_ms + rng.integers(0, 900)) for ep in range(n)]
        for key, vals in series.items():
            for ep, v in enumerate(vals):
                ms.append(Metric(key, float(v), stamps[ep] + (150 if key.startswith("val") else 0), ep))
        for i in range(0, len(ms), 1000):
            client.log_batch(run_id, metrics=ms[i:i + 1000])
        return stamps[-1] if stamps else t0

    def curves(n, lr, opt, dropout, bs, spike_at=None, diverge=False):
        ep = np.arange(n)
        speed = {"adam": 1.0, "adamw": 1.1, "sgd": 0.45}[opt] * min(1.0, lr / 1e-3) ** 0.5
        floor = 0.30 + 0.15 * dropout + 0.02 * (bs / 128)
        tl = floor + 0.40 * np.exp(-ep * speed / 6) + rng.normal(0, 0.006, n)
        gap = 0.02 + 0.0025 * ep * (0.5 - dropout)  # little dropout -> overfitting later on
        vl = tl + np.maximum(gap, 0.01) + rng.normal(0, 0.01, n)
        va = 0.93 - 0.55 * (vl - 0.25) + rng.normal(0, 0.004, n)
        if spike_at is not None:  # a bad batch / lr warm restart: visible spike, then recovery
            bump = np.where(ep >= spike_at, 1.1 * np.exp(-(ep - spike_at) / 2.5), 0.0)
            tl, vl, va = tl + bump, vl + 1.2 * bump, va - 0.45 * bump
        if diverge:
            blow = np.exp(np.maximum(ep - 9, 0) / 2.2) - 1
            tl, vl, va = tl + blow, vl + 1.3 * blow, np.maximum(va - 0.05 * blow, 0.5)
        return {"train_loss": [f32(v) for v in tl], "val_loss": [f32(v) for v in vl],
                "val_acc": [f32(min(v, 0.99)) for v in va]}

    # ---- experiment 1: hyper-parameter sweep ---------------------------------
    exp1 = client.create_experiment("churn-sweep", tags={
        "team": "growth-analytics", "dataset": "customers-2024-05",
        "mlflow.note.content": "## Churn model sweep\n\nRandom search over optimizer, learning "
                               "rate, batch size and dropout.\nTarget: `churned_90d`."})
    parent_start = base
    parent = create_run(exp1, "sweep-june", parent_start, tags={
        "purpose": "hp-search",
        "mlflow.note.content": "# June sweep\n\n* 7 trials, 50 epochs each\n* trial 3 had a loss "
                               "spike at epoch 22 (bad shard), it recovered\n* trial 6 diverged "
                               "(**lr too high**) and was stopped"})
    log_params(parent, {"search": "random", "n_trials": 7, "epochs": 50, "metric": "val_acc",
                        "seed": SEED})
    trials = [
        ("adam", 1e-3, 64, 0.2), ("adam", 3e-4, 128, 0.3), ("sgd", 1e-2, 32, 0.1),
        ("adamw", 1e-3, 64, 0.3), ("adamw", 5e-4, 256, 0.5), ("adam", 2e-3, 32, 0.1),
        ("sgd", 0.3, 64, 0.2),
    ]
    best = (-1.0, None)
    t = parent_start + 2 * MIN
    for k, (opt, lr, bs, do) in enumerate(trials):
        name = f"trial-{k}-{opt}-lr{lr:g}"
        rid = create_run(exp1, name, t, parent=parent, tags={"trial": str(k), "optimizer": opt})
        log_params(rid, {"optimizer": opt, "lr": lr, "batch_size": bs, "dropout": do,
                         "epochs": 50, "hidden_units": 64, "weight_decay": 0.01 if opt == "adamw" else 0.0})
        epoch_ms = int(9_000 * 128 / bs ** 0.8 * (1 + 0.1 * rng.random()))
        if k == 6:  # diverges, crashes at epoch 17 with NaN
            c = curves(18, lr, opt, do, bs, diverge=True)
            c["train_loss"][-1] = float("nan")
            c["val_loss"] = c["val_loss"][:-1]
            c["val_acc"] = c["val_acc"][:-1]
            t_end = log_epochs(rid, c, t, epoch_ms)
            client.set_tag(rid, "error", "FloatingPointError: train_loss is NaN at epoch 17")
            client.set_terminated(rid, "FAILED", end_time=t_end + 2000)
        else:
            c = curves(50, lr, opt, do, bs, spike_at=22 if k == 3 else None)
            t_end = log_epochs(rid, c, t, epoch_ms)
            client.log_metric(rid, "best_val_acc", max(c["val_acc"]), timestamp=t_end + 500, step=49)
            if k == 3:
                client.set_tag(rid, "mlflow.note.content",
                               "Loss spike at epoch **22**: a corrupted data shard was re-read. "
                               "Recovered by epoch 30.")
            client.set_terminated(rid, "FINISHED", end_time=t_end + 3000)
            if max(c["val_acc"]) > best[0]:
                best = (max(c["val_acc"]), rid)
        t = t_end + 4 * MIN
    client.log_metric(parent, "best_val_acc", best[0], timestamp=t, step=0)
    client.set_tag(parent, "best_run_id", best[1])
    client.set_terminated(parent, "FINISHED", end_time=t + 1000)

    # still RUNNING: a longer re-run of the best config, started 35 min ago, at epoch 31 of 100
    t0 = now - 35 * MIN
    rid = create_run(exp1, "best-config-100ep", t0, tags={"purpose": "retrain", "node": "gpu-02"})
    log_params(rid, {"optimizer": "adamw", "lr": 1e-3, "batch_size": 64, "dropout": 0.3,
                     "epochs": 100, "hidden_units": 64, "weight_decay": 0.01})
    c = curves(32, 1e-3, "adamw", 0.3, 64)
    log_epochs(rid, c, t0, 63_000)

    # ---- experiment 2: final model with artifacts ----------------------------
    exp2 = client.create_experiment("churn-final-model", tags={"team": "growth-analytics"})
    t0 = base + 20 * HOUR
    rid = create_run(exp2, "final-gbm", t0, tags={
        "stage": "candidate", "model_family": "gradient-boosting",
        "mlflow.note.content": "Final candidate.\n\n| metric | value |\n|---|---|\n"
                               "| AUC | see `test_auc` |\n\nSee `plots/roc_curve.png`."})
    cfg = {"model": "gradient_boosting", "n_estimators": 300, "max_depth": 4, "learning_rate": 0.05,
           "subsample": 0.8, "features": ["tenure_months", "monthly_charges", "support_tickets",
                                          "contract_type", "last_login_days"],
           "target": "churned_90d", "split": {"train": 0.8, "test": 0.2, "seed": SEED}}
    log_params(rid, {k: v for k, v in cfg.items() if not isinstance(v, (list, dict))})
    log_params(rid, {"n_features": len(cfg["features"])})
    rounds = np.arange(0, 300, 5)
    auc_curve = 0.9 - 0.25 * np.exp(-rounds / 60) + rng.normal(0, 0.002, len(rounds))
    ll_curve = 0.35 + 0.33 * np.exp(-rounds / 70) + rng.normal(0, 0.002, len(rounds))
    ms = []
    for i, r in enumerate(rounds):
        ts = int(t0 + 2000 + i * 400)
        ms += [Metric("valid_auc", float(auc_curve[i]), ts, int(r)),
               Metric("valid_logloss", float(ll_curve[i]), ts, int(r))]
    client.log_batch(rid, metrics=ms)
    # held-out evaluation
    n = 200
    y = (rng.random(n) < 0.27).astype(int)
    score = np.clip(0.27 + 0.45 * (y - 0.27) + rng.normal(0, 0.2, n), 0.001, 0.999)
    pred = (score >= 0.5).astype(int)
    tp, fp = int(((pred == 1) & (y == 1)).sum()), int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    prec, rec = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    order = np.argsort(-score)
    tpr = np.concatenate([[0], np.cumsum(y[order]) / y.sum()])
    fpr = np.concatenate([[0], np.cumsum(1 - y[order]) / (n - y.sum())])
    auc = float(np.trapezoid(tpr, fpr))
    t_eval = int(t0 + 2000 + len(rounds) * 400 + 5000)
    client.log_batch(rid, metrics=[
        Metric("test_auc", auc, t_eval, 0), Metric("test_precision", prec, t_eval, 0),
        Metric("test_recall", rec, t_eval, 0),
        Metric("test_f1", 2 * prec * rec / max(prec + rec, 1e-9), t_eval, 0)])
    tmp = os.path.join(work, "_tmp")
    os.makedirs(tmp, exist_ok=True)
    with mlflow.start_run(run_id=rid):
        cfg_path = os.path.join(tmp, "train.yaml")
        with open(cfg_path, "w") as f:
            yaml.safe_dump(cfg, f, sort_keys=False)
        mlflow.log_artifact(cfg_path, artifact_path="config")
        fig, ax = plt.subplots(figsize=(3.2, 3.0), dpi=72)
        ax.plot(fpr, tpr, lw=1.5, label=f"AUC = {auc:.3f}")
        ax.plot([0, 1], [0, 1], "--", color="grey", lw=0.8)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title("ROC, held-out customers", fontsize=9)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        mlflow.log_figure(fig, "plots/roc_curve.png")
        plt.close(fig)
        pred_path = os.path.join(tmp, "predictions.csv")
        with open(pred_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["customer_id", "churned_90d", "p_churn", "predicted"])
            for i in range(n):
                w.writerow([f"C{100000 + int(order[i]) * 7:06d}", int(y[order[i]]),
                            round(float(score[order[i]]), 4), int(pred[order[i]])])
        mlflow.log_artifact(pred_path, artifact_path="eval")
    client.set_terminated(rid, "FINISHED", end_time=t_eval + 4000)
    shutil.rmtree(tmp)


# ---------------------------------------------------------------------------
# Lightning CSVLogger format (writer logic copied from shared/fixtures/make_project.py,
# which mirrors lightning.fabric.loggers.csv_logs._ExperimentWriter: sorted header,
# csv.DictWriter on newline="" -> CRLF, empty cells, float32 values; hparams = yaml.dump)
# ---------------------------------------------------------------------------

def write_lightning_csv(path, rows):
    keys = sorted(set().union(*rows))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def build_lightning(work, rng):
    root = os.path.join(work, "lightning_logs")
    # version_0: 12 epochs x 40 batches, log_every_n_steps=20, validation each epoch
    spe, epochs = 40, 12
    rows = []
    for gs in range(spe * epochs):
        ep = gs // spe
        if (gs + 1) % 20 == 0:
            rows.append({"train_loss": f32(0.45 * math.exp(-gs / 120) + 0.33 + rng.normal(0, 0.015)),
                         "epoch": ep, "step": gs})
        if (gs + 1) % spe == 0:
            rows.append({"val_loss": f32(0.45 * math.exp(-gs / 130) + 0.36 + rng.normal(0, 0.006)),
                         "val_auc": f32(0.89 - 0.22 * math.exp(-gs / 110) + rng.normal(0, 0.003)),
                         "val_acc": f32(0.86 - 0.15 * math.exp(-gs / 110) + rng.normal(0, 0.003)),
                         "epoch": ep, "step": gs})
    write_lightning_csv(os.path.join(root, "version_0", "metrics.csv"), rows)
    hp = {"model": "ChurnMLP", "lr": 0.001, "batch_size": 64, "hidden_dim": 64, "dropout": 0.2,
          "optimizer": {"name": "adam", "betas": [0.9, 0.999]}, "max_epochs": epochs,
          "data_path": "data/customers.parquet", "target": "churned_90d", "seed": 42}
    with open(os.path.join(root, "version_0", "hparams.yaml"), "w", newline="") as f:
        yaml.dump(hp, f)

    # version_1: cosine schedule with LearningRateMonitor (lr-Adam rows have no epoch),
    # on_step + on_epoch logging, 8 epochs
    rows, acc = [], []
    epochs1 = 8
    total = spe * epochs1
    for gs in range(total):
        ep = gs // spe
        if (gs + 1) % 20 == 0:
            rows.append({"lr-Adam": f32(0.002 * 0.5 * (1 + math.cos(math.pi * gs / total))), "step": gs})
            v = f32(0.42 * math.exp(-gs / 90) + 0.32 + rng.normal(0, 0.015))
            acc.append(v)
            rows.append({"train_loss_step": v, "epoch": ep, "step": gs})
        if (gs + 1) % spe == 0:
            rows.append({"val_loss": f32(0.42 * math.exp(-gs / 100) + 0.345 + rng.normal(0, 0.006)),
                         "val_auc": f32(0.9 - 0.2 * math.exp(-gs / 90) + rng.normal(0, 0.003)),
                         "val_acc": f32(0.865 - 0.14 * math.exp(-gs / 90) + rng.normal(0, 0.003)),
                         "epoch": ep, "step": gs})
            rows.append({"train_loss_epoch": f32(np.mean(acc)), "epoch": ep, "step": gs})
            acc = []
    write_lightning_csv(os.path.join(root, "version_1", "metrics.csv"), rows)
    with open(os.path.join(root, "version_1", "hparams.yaml"), "w", newline="") as f:
        yaml.dump({**hp, "lr": 0.002, "max_epochs": epochs1, "scheduler": "cosine"}, f)


# ---------------------------------------------------------------------------
# JSONL in Runlens's own format: a params line, then one object per logged step
# ---------------------------------------------------------------------------

def build_jsonl(work, rng):
    path = os.path.join(work, "logs", "finetune.jsonl")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    params = {"model": "bert-base-uncased", "task": "support-ticket-churn-intent", "lr": 3e-5,
              "batch_size": 32, "max_seq_len": 256, "warmup_steps": 100, "epochs": 2}
    t = 1717430400.0 + float(rng.integers(0, 3600))  # a fixed day, so the file is deterministic
    n = 199  # + the params line = 200 lines
    with open(path, "w") as f:
        f.write(json.dumps({"params": params}) + "\n")
        for i in range(n):
            step = i * 10
            lr = 3e-5 * min(1.0, step / 100) * max(0.0, 1 - max(0, step - 100) / (n * 10))
            loss = 0.25 + 0.85 * math.exp(-step / 350) + abs(rng.normal(0, 0.03))
            t += 1.9 + 0.2 * rng.random()
            rec = {"step": step, "timestamp": round(t, 3), "loss": round(loss, 5), "lr": lr}
            if step % 200 == 0 and step > 0:
                rec["eval_loss"] = round(loss + 0.04 + abs(rng.normal(0, 0.01)), 5)
                rec["eval_f1"] = round(0.62 + 0.25 * (1 - math.exp(-step / 500)), 4)
            f.write(json.dumps(rec) + "\n")


def build_tensorboard(work, rng):
    """tb/pretrain: a tensorboardX run, as torch.utils.tensorboard users write it: 1,500 steps of
    train/loss (with a short spike at step 820 that recovers), learning rate, grad norm, val
    metrics every 125 steps, and hparams through add_hparams (a timestamp-named subfolder)."""
    from tensorboardX import SummaryWriter

    logdir = os.path.join(work, "tb", "pretrain")
    w = SummaryWriter(logdir=logdir)
    t0 = 1717400000.0  # a fixed day, so the run is the same on every build
    n = 1500
    loss = 0.0
    for step in range(n):
        wall = t0 + step * 0.8
        lr = 6e-4 * min(1.0, step / 200) * (0.5 * (1 + math.cos(math.pi * step / n)))
        loss = 0.9 + 2.4 * math.exp(-step / 300) + rng.normal(0, 0.03)
        if 820 <= step < 832:
            loss += 1.8 * math.exp(-(step - 820) / 4)  # a bad batch, then recovery
        w.add_scalar("train/loss", loss, step, walltime=wall)
        w.add_scalar("train/lr", lr, step, walltime=wall)
        w.add_scalar("train/grad_norm", abs(rng.normal(1.0, 0.2)) * (3.0 if 820 <= step < 825 else 1.0), step, walltime=wall)
        if step % 125 == 0 or step == n - 1:
            w.add_scalar("val/loss", loss + 0.05 + abs(rng.normal(0, 0.01)), step, walltime=wall)
            w.add_scalar("val/perplexity", math.exp(loss + 0.05), step, walltime=wall)
    w.add_hparams({"model": "gpt-mini", "layers": 6, "d_model": 384, "lr": 6e-4, "batch_size": 64},
                  {"hparam/val_loss": loss + 0.05})
    w.close()


def build_keras(work, keras_python):
    out = os.path.join(work, "keras", "history.csv")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    script = os.path.join(REPO, "tests", "fixtures", "keras", "make_keras_logs.py")
    if os.path.exists(keras_python):
        env = dict(os.environ, KERAS_BACKEND="jax")
        subprocess.run([keras_python, script, "--demo", out], check=True, env=env)
        return "real Keras run (" + keras_python + ")"
    shutil.copy(os.path.join(REPO, "tests", "fixtures", "keras", "history.csv"), out)
    print("WARNING: no Keras interpreter, copied tests/fixtures/keras/history.csv", file=sys.stderr)
    return "copied"


def build_models(work, rng):
    """Four small scikit-learn models logged by MLflow into experiment churn-final-model (the demo's
    existing mlruns/ copied into `work` first, so every other run keeps its id), and MLflow's own
    registry: churn-gbm version 1 (gbm-v1), alias champion."""
    import mlflow
    from mlflow import MlflowClient
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    uri = "file://" + os.path.join(work, "mlruns")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, registry_uri=uri)
    exp = client.get_experiment_by_name("churn-final-model").experiment_id
    n = 400
    x = np.column_stack([rng.integers(1, 72, n), rng.normal(70, 20, n), rng.poisson(1.5, n),
                         rng.integers(0, 3, n), rng.integers(0, 60, n)]).astype(float)
    logit = -1.2 + 0.04 * x[:, 4] + 0.5 * x[:, 2] - 0.03 * x[:, 0] + rng.normal(0, 0.8, n)
    y = (logit > 0).astype(int)
    cols = ["tenure_months", "monthly_charges", "support_tickets", "contract_type", "last_login_days"]
    import pandas as pd
    frame = pd.DataFrame(x, columns=cols)
    train, test = slice(0, 320), slice(320, n)
    made = {}
    specs = [
        # Few small trees: a model file of tens of KB, not MB.
        ("gbm-v1", GradientBoostingClassifier(n_estimators=4, max_depth=1, learning_rate=0.3, random_state=1),
         {"model": "gradient_boosting", "n_estimators": 4, "max_depth": 1, "learning_rate": 0.3}),
        ("gbm-v2", GradientBoostingClassifier(n_estimators=20, max_depth=1, learning_rate=0.3, random_state=1),
         {"model": "gradient_boosting", "n_estimators": 20, "max_depth": 1, "learning_rate": 0.3}),
        ("logreg-C0.1", LogisticRegression(C=0.1, max_iter=500), {"model": "logistic_regression", "C": 0.1}),
        ("logreg-C1.0", LogisticRegression(C=1.0, max_iter=500), {"model": "logistic_regression", "C": 1.0}),
    ]
    for name, model, params in specs:
        with mlflow.start_run(experiment_id=exp, run_name=name) as run:
            mlflow.set_tags({"mlflow.source.git.commit": "5f2c9a1e7b3d4c6f8a0b2d4e6f8a0c2e4b6d8f0a",
                             "stage": "model-export"})
            mlflow.log_params(params)
            model.fit(frame.iloc[train], y[train])
            proba = model.predict_proba(frame.iloc[test])[:, 1]
            acc = float(((proba >= 0.5).astype(int) == y[test]).mean())
            order = np.argsort(-proba)
            yt = y[test][order]
            tpr = np.concatenate([[0], np.cumsum(yt) / max(yt.sum(), 1)])
            fpr = np.concatenate([[0], np.cumsum(1 - yt) / max(len(yt) - yt.sum(), 1)])
            auc = float(np.trapezoid(tpr, fpr))
            mlflow.log_metrics({"test_auc": auc, "test_acc": acc})
            if hasattr(model, "staged_predict_proba"):
                for step, p in enumerate(model.staged_predict_proba(frame.iloc[test])):
                    if step % 2 == 0:
                        ll = float(-np.mean(y[test] * np.log(p[:, 1] + 1e-9) + (1 - y[test]) * np.log(p[:, 0] + 1e-9)))
                        mlflow.log_metric("valid_logloss", ll, step=step)
            trusted = ["sklearn.tree._tree.Tree"] if "gbm" in name else None
            info = mlflow.sklearn.log_model(model, name="model", input_example=frame.iloc[:3], skops_trusted_types=trusted)
            made[name] = (run.info.run_id, info.model_id, auc)
    mv = mlflow.register_model(f"models:/{made['gbm-v1'][1]}", "churn-gbm")
    client.update_registered_model("churn-gbm", description="Flags customers likely to churn within 90 days")
    client.set_registered_model_tag("churn-gbm", "team", "growth-analytics")
    client.set_model_version_tag("churn-gbm", mv.version, "validated", "true")
    client.set_registered_model_alias("churn-gbm", "champion", mv.version)
    return made


def build_registry(dest, runlens, made):
    """The demo's own registry, written by the runlens CLI as two people: Ana (data scientist) and
    Lee (team lead, the approver the policy lists), a minute apart, in the minutes before generation
    (they end when generation ends; MLflow's own registry keeps the real time it registered)."""
    if not os.path.exists(runlens):
        subprocess.run(["cargo", "build", "--release", "-p", "runlens"], cwd=REPO, check=True)
    reg = os.path.join(dest, ".runlens")
    if os.path.exists(reg):
        shutil.rmtree(reg)
    scratch = os.path.join(os.path.dirname(os.path.abspath(dest)), ".demo-registry-scratch")
    if os.path.exists(scratch):
        shutil.rmtree(scratch)
    people = {"ana": ("Ana Ribeiro", "ana@example.org", "ana-laptop"),
              "lee": ("Lee Chen", "lee@example.org", "lee-desktop")}
    # Thirteen changes a minute apart, ending at the time of generation.
    t = [(int(time.time()) // 60 - 13) * 60_000]

    def cli(who, *args, out=False):
        name, email, host = people[who]
        home = os.path.join(scratch, who)
        os.makedirs(home, exist_ok=True)
        env = dict(os.environ, USER=who, HOME=home, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
                   COMPUTERNAME=host, RUNLENS_NOW=str(t[0]), RUNLENS_CONFIG_DIR=os.path.join(home, "runlens"),
                   RUNLENS_DATA_DIR=os.path.join(scratch, "data-" + who))
        env.pop("XDG_CONFIG_HOME", None)
        t[0] += 60 * 1000
        r = subprocess.run([runlens, *args], env=env, check=True, capture_output=True, text=True)
        return r.stdout

    d = dest
    cli("ana", "registry", "import-mlflow", d, "churn-gbm")
    auc1, auc2 = made["gbm-v1"][2], made["gbm-v2"][2]
    cli("ana", "registry", "register", d, made["gbm-v2"][0], made["gbm-v2"][1], "--name", "churn-gbm",
        "--description", f"20 boosting rounds instead of 4: holdout AUC {auc2:.3f} (version 1: {auc1:.3f})")
    cli("ana", "registry", "tag", d, "churn-gbm@2", "validated=true")
    cli("ana", "registry", "request", d, "churn-gbm@2", "--comment", f"Ready for production? Holdout AUC {auc2:.3f}, up from {auc1:.3f}; same features")
    lee_key = json.loads(cli("lee", "registry", "key", "--format", "json"))["id"]
    with open(os.path.join(reg, "registry", "policy.yaml"), "w") as f:
        f.write("# Who may move the champion alias and put a version in production (from when the\n"
                "# team adopted this policy: earlier events are not judged by it).\n"
                f"since: {t[0]}\napprovers:\n  - {lee_key}   # Lee Chen, team lead\n"
                "protect:\n  aliases:\n    champion: {approvals: 1}\n  stages:\n    Production: {approvals: 1}\n")
    cli("lee", "registry", "approve", d, "churn-gbm@2", "--comment", "Checked the holdout metrics and the input example: approved")
    cli("ana", "registry", "alias", d, "churn-gbm@2", "champion")
    cli("ana", "registry", "stage", d, "churn-gbm@2", "Production", "--comment", "Rollout after Lee's approval")
    cli("ana", "registry", "stage", d, "churn-gbm@1", "Archived", "--comment", "Replaced by version 2")
    cli("ana", "registry", "register", d, made["logreg-C0.1"][0], made["logreg-C0.1"][1], "--name", "churn-baseline",
        "--description", "Logistic regression, strong regularisation")
    cli("ana", "registry", "register", d, made["logreg-C1.0"][0], made["logreg-C1.0"][1], "--name", "churn-baseline",
        "--description", "Logistic regression, C=1.0")
    cli("ana", "registry", "tag", d, "churn-baseline", "task=classification")
    cli("ana", "registry", "alias", d, "churn-baseline@2", "candidate")
    cli("ana", "registry", "archive", d, "churn-baseline@1")
    print(cli("ana", "registry", "verify", d).strip())
    shutil.rmtree(scratch)


def customers(rng, n, start, charges_shift=0.0, plan_p=(0.5, 0.3, 0.2)):
    """Customer features like the churn models' (tenure, monthly_charges, support_calls), a plan and
    the label."""
    rows = []
    for i in range(n):
        tenure = round(float(rng.uniform(0, 72)), 1)
        charges = round(float(rng.normal(65 + charges_shift, 20)), 2)
        calls = int(rng.poisson(1.5))
        plan = ["basic", "plus", "pro"][int(rng.choice(3, p=plan_p))]
        p = 1 / (1 + math.exp(-(-1.2 - 0.04 * tenure + 0.02 * (charges - 65) + 0.5 * calls)))
        rows.append([start + i, tenure, charges, calls, plan, int(rng.random() < p)])
    return rows


def build_data(dest, runlens, rng):
    """Versioned data the real `git` and `dvc` make: data/customers.csv in three commits (tags
    data-v1, data-v2, data-v3; the third month's customers pay about half a standard deviation more
    and buy more `pro` plans: it drifted) and a fourth batch in the working tree. A nested .git
    cannot live in our repository, so the history (.git, .dvc with its cache, the .dvc files and the
    data) is packed into assets/demo-data.tar.gz; scripts/demo.sh unpacks it into a working copy of
    the demo. churn-gbm@2's reference dataset is set to data-v2 with the runlens CLI, and that one
    event file is copied back into the demo's registry."""
    work = os.path.join(os.path.dirname(os.path.abspath(dest)), ".demo-data-scratch")
    if os.path.exists(work):
        shutil.rmtree(work)
    shutil.copytree(dest, work)
    dvc = [os.path.join(os.path.dirname(sys.executable), "dvc")]
    env = dict(os.environ, GIT_AUTHOR_NAME="Ana Ribeiro", GIT_AUTHOR_EMAIL="ana@example.org",
               GIT_COMMITTER_NAME="Ana Ribeiro", GIT_COMMITTER_EMAIL="ana@example.org",
               GIT_CONFIG_NOSYSTEM="1", DVC_NO_ANALYTICS="1")

    def sh(*cmd, extra=None):
        subprocess.run(list(cmd), cwd=work, env=dict(env, **(extra or {})), check=True, capture_output=True)

    def write(rows):
        with open(os.path.join(work, "data", "customers.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["customer_id", "tenure", "monthly_charges", "support_calls", "plan", "churned"])
            w.writerows(rows)

    sh("git", "init", "-q", "-b", "main")
    sh(*dvc, "init", "-q")
    sh(*dvc, "config", "core.analytics", "false")
    with open(os.path.join(work, ".gitignore"), "w") as f:
        f.write("# Runs and models are the demo's own files, not versioned here.\n"
                "mlruns/\nlightning_logs/\nkeras/\nlogs/\ntb/\n.runlens/\nREADME.md\n")
    os.makedirs(os.path.join(work, "data"), exist_ok=True)
    now = int(time.time())
    months = [("data-v1", "January customers (4,000)", now - 75 * 86400),
              ("data-v2", "February: 600 new customers, 12 labels fixed", now - 45 * 86400),
              ("data-v3", "March customers: charges up, more pro plans", now - 15 * 86400)]
    rows = customers(rng, 4000, 0)
    for k, (tag, msg, at) in enumerate(months):
        if k == 1:
            for i in rng.choice(len(rows), 12, replace=False):
                rows[i][5] = 1 - rows[i][5]
            rows += customers(rng, 600, 4000)
        elif k == 2:
            rows = customers(rng, 4600, 10000, charges_shift=10.0, plan_p=(0.3, 0.3, 0.4))
        write(rows)
        sh(*dvc, "add", "-q", "data/customers.csv")
        sh("git", "add", "-A")
        date = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(at))
        sh("git", "commit", "-q", "-m", msg, extra={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        sh("git", "tag", tag)
    # April's first week, added with DVC but not committed yet.
    rows += customers(rng, 500, 14600, charges_shift=10.0, plan_p=(0.3, 0.3, 0.4))
    write(rows)
    sh(*dvc, "add", "-q", "data/customers.csv")
    shutil.rmtree(os.path.join(work, ".dvc", "tmp"), ignore_errors=True)
    # churn-gbm@2 is measured against February's data.
    if not os.path.exists(runlens):
        subprocess.run(["cargo", "build", "--release", "-p", "runlens"], cwd=REPO, check=True)
    home = work + "-ana"
    events = os.path.join(dest, ".runlens", "registry", "churn-gbm", "events")
    before = set(os.listdir(events))
    subprocess.run([runlens, "data", "reference", work, "churn-gbm@2", "data/customers.csv@data-v2"], check=True,
                   env=dict(os.environ, USER="ana", HOME=home, GIT_AUTHOR_NAME="Ana Ribeiro",
                            GIT_AUTHOR_EMAIL="ana@example.org", COMPUTERNAME="ana-laptop",
                            RUNLENS_NOW=str(now * 1000), RUNLENS_CONFIG_DIR=os.path.join(home, "runlens"),
                            RUNLENS_DATA_DIR=os.path.join(home, "data")))
    wevents = os.path.join(work, ".runlens", "registry", "churn-gbm", "events")
    for e in sorted(set(os.listdir(wevents)) - before):
        shutil.copy(os.path.join(wevents, e), os.path.join(events, e))
    keys = os.path.join(work, ".runlens", "registry", "keys")
    for k in os.listdir(keys):
        if not os.path.exists(os.path.join(dest, ".runlens", "registry", "keys", k)):
            shutil.copy(os.path.join(keys, k), os.path.join(dest, ".runlens", "registry", "keys", k))
    out = os.path.join(HERE, "demo-data.tar.gz")
    with tarfile.open(out, "w:gz") as t:
        for name in [".git", ".dvc", ".dvcignore", ".gitignore", "data"]:
            t.add(os.path.join(work, name), arcname=name)
    shutil.rmtree(work)
    shutil.rmtree(home)
    print(f"versioned data written to {out}: {os.path.getsize(out)} bytes")


def main(args):
    work = args.work
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(work)
    rng = np.random.default_rng(SEED)
    parts = args.parts.split(",")
    cwd = os.getcwd()
    os.chdir(work)
    made = None
    try:
        if "mlruns" in parts:
            build_mlflow(work, rng)
        if "registry" in parts:
            if "mlruns" not in parts:
                shutil.copytree(os.path.join(args.dest, "mlruns"), os.path.join(work, "mlruns"))
            made = build_models(work, np.random.default_rng(SEED + 2))
    finally:
        os.chdir(cwd)
    if "lightning_logs" in parts:
        build_lightning(work, rng)
    if "logs" in parts:
        build_jsonl(work, rng)
    if "keras" in parts:
        print("keras:", build_keras(work, args.keras_python))
    if "tb" in parts:
        build_tensorboard(work, np.random.default_rng(SEED + 1))

    os.makedirs(args.dest, exist_ok=True)
    folders = [p for p in parts if p not in ("registry", "data")]
    if "registry" in parts and "mlruns" not in folders:
        folders.append("mlruns")
    for sub in folders:
        d = os.path.join(args.dest, sub)
        if os.path.exists(d):
            shutil.rmtree(d)
        shutil.copytree(os.path.join(work, sub), d)
    if made:
        build_registry(args.dest, args.runlens, made)
    if "data" in parts:
        build_data(args.dest, args.runlens, np.random.default_rng(SEED + 3))
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(args.dest) for f in fs)
    print(f"demo written to {args.dest}: {total} bytes")


if __name__ == "__main__":
    main(ARGS)
