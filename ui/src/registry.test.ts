import { describe, expect, it } from "vitest";
import {
  approvalForecast,
  changeForecast,
  compareVersions,
  eventSentence,
  metricAcrossVersions,
  niceTicks,
  numericMetricKeys,
  personName,
  policyRules,
  policySummary,
  registerCandidates,
  ruleFor,
  signatureColumns,
  signatureText,
  splitFrontMatter,
  stageClass,
  target,
  timeline,
  uncountedReason,
  versionGates,
  visibleVersions,
} from "./registry";
import { fmtTime } from "./format";
import { pickModel } from "./ModelsView";
import type { Approval, Detail, HistoryItem, RegistryPolicy } from "./types";
import { model, version } from "./testdata";

function ev(kind: string, v: number | null, payload: Record<string, unknown> = {}, skipped: string | null = null, at = 0): HistoryItem {
  return {
    hash: `${kind}-${v}-${at}`,
    kind,
    version: v,
    at,
    actor: { user: "ana", name: null, email: null },
    who: "ana",
    host: "laptop",
    parents: [],
    signed_by: "AAAA000011112222",
    payload,
    skipped,
  };
}

describe("register candidates", () => {
  it("offers logged models, MLflow model folders and model files first", () => {
    const d: Detail = {
      run: { id: "r", source: "mlflow", path: "mlruns/1/r", name: "r", experiment: null, status: null, start_time: null, end_time: null, parent_id: null, params: {}, tags: {}, metrics: {}, user: null },
      artifact_dir: "mlruns/1/r/artifacts",
      artifacts: [
        { path: "mlruns/1/r/artifacts/plots/roc.png", name: "plots/roc.png", size: 1 },
        { path: "mlruns/1/r/artifacts/model/MLmodel", name: "model/MLmodel", size: 1 },
        { path: "mlruns/1/r/artifacts/model/model.pkl", name: "model/model.pkl", size: 1 },
        { path: "mlruns/1/r/artifacts/best.onnx", name: "best.onnx", size: 1 },
        { path: "mlruns/1/r/artifacts/notes.txt", name: "notes.txt", size: 1 },
      ],
      models: [{ model_id: "m-abc", name: "clf", step: null, dir: "mlruns/1/models/m-abc/artifacts", flavors: ["sklearn"], signature_inputs: null, signature_outputs: null, files: [] }],
      inputs: [],
      issues: [],
    };
    const c = registerCandidates(d);
    expect(c.map((x) => [x.kind, x.path])).toEqual([
      ["logged-model", "m-abc"],
      ["mlflow-model", "model"],
      ["model-file", "best.onnx"],
      ["folder", "plots"],
      ["file", "model/MLmodel"],
      ["file", "model/model.pkl"],
      ["file", "notes.txt"],
      ["file", "plots/roc.png"],
    ]);
    expect(c[0].label).toContain("(sklearn)");
  });
});

describe("timeline", () => {
  const history = [
    ev("register", 1, { source: { run_name: "trial-1" } }, null, 1),
    ev("register", 2, {}, null, 2),
    ev("set_alias", 1, { alias: "champion" }, null, 3),
    ev("set_alias", 2, { alias: "champion" }, null, 4),
    ev("approve", 1, { comment: "mine" }, "the author of version 1 may not approve it", 5),
    ev("approve", 2, { comment: "looks good" }, null, 6),
    ev("transition", 2, { stage: "Production", comment: "ship it" }, null, 7),
  ];
  it("reads newest first, says where an alias moved from, and marks events that do not count", () => {
    const t = timeline(history);
    expect(t.map((e) => e.sentence)).toEqual([
      "moved version 2 to stage Production",
      "approved version 2",
      "approved version 1",
      "moved @champion from version 1 to version 2",
      "set @champion on version 1",
      "registered version 2",
      "registered version 1 from run trial-1",
    ]);
    expect(t[0].comment).toBe("ship it");
    expect(t[2].counts).toBe(false);
    expect(t.filter((e) => !e.counts)).toHaveLength(1);
  });
  it("keeps a version's own events, and the alias moving away from it", () => {
    expect(timeline(history, 1).map((e) => e.event.at)).toEqual([5, 4, 3, 1]);
  });
  it("describes every kind", () => {
    expect(eventSentence(ev("set_tag", null, { key: "team", value: "risk" }))).toBe("tagged the model team=risk");
    expect(eventSentence(ev("archive", 3))).toBe("archived version 3");
    expect(eventSentence(ev("remove_alias", 3, { alias: "canary" }))).toBe("removed @canary from version 3");
  });
});

describe("version comparison", () => {
  const vs = [version(1), version(2, { aliases: ["champion"], files: [{ path: "model.pkl", size: 10, sha256: "1".repeat(64) }, { path: "extra.json", size: 2, sha256: "e".repeat(64) }] })];
  it("lines up params, metrics, signature and files", () => {
    const c = compareVersions(vs);
    expect(c.params.find((r) => r.key === "lr")).toEqual({ key: "lr", values: ["0.1", "0.2"], differs: true });
    expect(c.params.find((r) => r.key === "depth")?.differs).toBe(false);
    expect(c.metrics.find((r) => r.key === "val_loss")?.values).toEqual(["1", "0.5"]);
    expect(c.metrics.find((r) => r.key === "odd")?.values).toEqual(["NaN", "NaN"]);
    expect(c.summary.find((r) => r.key === "aliases")?.values).toEqual([null, "@champion"]);
    expect(c.signature.map((r) => r.key)).toEqual(["inputs", "outputs"]);
    expect(c.signature[0].values).toEqual(["age: double, plan: string?", "age: double, plan: string"]);
    expect(c.signature[0].differs).toBe(true);
    const files = Object.fromEntries(c.files.map((r) => [r.key, r]));
    expect(files["model.pkl"].differs).toBe(false);
    expect(files["extra.json"].values).toEqual([null, "eeeeeeeeeeee"]);
  });
  it("puts round ticks on the chart's axis", () => {
    expect(niceTicks(0.746439, 0.816239)).toEqual([0.74, 0.76, 0.78, 0.8, 0.82]);
    expect(niceTicks(0.2625, 0.4937)).toEqual([0.2, 0.3, 0.4, 0.5]);
    expect(niceTicks(3, 3)).toEqual([2.6, 2.8, 3, 3.2, 3.4]);
    expect(niceTicks(0, 0)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(-20, 180)).toEqual([-50, 0, 50, 100, 150, 200]);
    expect(niceTicks(NaN, 1)).toEqual([0, 1]);
  });
  it("charts a metric across versions, skipping NaN", () => {
    expect(numericMetricKeys(vs)).toEqual(["acc", "val_loss"]);
    expect(metricAcrossVersions([vs[1], vs[0]], "val_loss")).toEqual([
      { version: 1, value: 1 },
      { version: 2, value: 0.5 },
    ]);
    expect(metricAcrossVersions(vs, "odd").map((p) => p.value)).toEqual([null, null]);
  });
});

describe("small helpers", () => {
  it("reads MLflow signatures, column and tensor specs", () => {
    expect(signatureColumns([{ type: "tensor", "tensor-spec": { dtype: "float32", shape: [-1, 4] } }])).toEqual([{ name: "#0", type: "float32[-1, 4]", required: true }]);
    expect(signatureColumns("not a list")).toEqual([]);
    expect(signatureText({ weird: 1 })).toBe('{"weird":1}');
  });
  it("splits a card's front matter from its body", () => {
    expect(splitFrontMatter("---\nlicense: mit\n---\n# churn v2\n")).toEqual({ front: "license: mit", body: "# churn v2\n" });
    expect(splitFrontMatter("# no front matter")).toEqual({ front: null, body: "# no front matter" });
    expect(splitFrontMatter("---\na: 1\n---\n<!-- runlens:generated:start -->\n# v2\n<!-- runlens:generated:end -->\nmine\n").body).toBe("# v2\nmine\n");
  });
  it("shows a person by name", () => {
    expect(personName("Ana Lima <ana@example.org>")).toBe("Ana Lima");
    expect(personName("ana")).toBe("ana");
    expect(personName(null)).toBe("");
  });
  it("names targets, stages and versions", () => {
    expect(target("churn", 3)).toBe("churn@3");
    expect(target("churn", null)).toBe("churn");
    expect(stageClass("Production")).toBe("prod");
    expect(stageClass("None")).toBe("");
    const m = model({ versions: [version(1, { archived: true }), version(2), version(3)] });
    expect(visibleVersions(m, false).map((v) => v.version)).toEqual([3, 2]);
    expect(visibleVersions(m, true).map((v) => v.version)).toEqual([3, 2, 1]);
  });
  it("picks ours before MLflow's model of the same name", () => {
    const ms = [model({ source: "mlflow", read_only: true }), model()];
    expect(pickModel(ms, { name: "churn", version: null })?.source).toBe("runlens");
    expect(pickModel(ms, { name: "churn", source: "mlflow", version: null })?.source).toBe("mlflow");
    expect(pickModel(ms, { name: "nope", version: null })).toBeUndefined();
  });
});

describe("the registry policy", () => {
  const LEE = "1C7D6F678CF8F072";
  const ANA = "AAAA000011112222";
  const NOW = 1767607200000;
  const none: RegistryPolicy = { approvers: [], author_may_approve: false, since: null, aliases: {}, stages: {} };
  const demo: RegistryPolicy = {
    approvers: [{ key: LEE, name: "Lee Chen <lee@example.org>" }],
    author_may_approve: false,
    since: NOW - 3600000,
    aliases: { champion: 1 },
    stages: { Production: 1 },
  };
  const approval = (key: string, counts: boolean): Approval => ({ by: key === LEE ? "Lee Chen <lee@example.org>" : "Ana Lima", at: NOW, comment: "ok", key, counts });

  it("says what is protected, aliases first, and whose approvals count", () => {
    expect(policyRules(demo).map((r) => [r.kind, r.label, r.need])).toEqual([
      ["alias", "@champion", 1],
      ["stage", "Production", 1],
    ]);
    const s = policySummary(demo, NOW);
    expect(s.rules).toBe("@champion needs 1 approval; Production needs 1");
    expect(s.approvers).toBe("approvals count from Lee Chen");
    expect(s.authors).toBe("authors cannot approve their own versions");
    expect(s.since).toBe(`judged since ${fmtTime(demo.since)}; earlier changes are not`);
    // A policy that starts later says so.
    expect(policySummary(demo, NOW - 7200000).since).toBe(`in force from ${fmtTime(demo.since)}: changes before then are not judged`);
    // Approvers nobody has signed with yet show by key id; no approvers: anyone's approval counts.
    expect(policySummary({ ...demo, approvers: [{ key: "5C3A1F0E9B2D4A11", name: null }] }, NOW).approvers).toBe("approvals count from 5C3A1F0E9B2D4A11");
    expect(policySummary({ ...demo, approvers: [], stages: { Production: 2 } }, NOW).rules).toBe("@champion needs 1 approval; Production needs 2");
    expect(policySummary({ ...demo, approvers: [] }, NOW).approvers).toBe("anyone's approval counts");
  });

  it("says briefly when there is no policy", () => {
    const s = policySummary(none, NOW);
    expect(`${s.rules}; ${s.authors}`).toBe("No policy: anyone may move aliases and stages; authors cannot approve their own versions");
    expect(policySummary({ ...none, author_may_approve: true }, NOW).authors).toBe("authors may approve their own versions");
  });

  it("counts a version's approvals against each protected alias and stage", () => {
    const approved = version(2, { stage: "Production", aliases: ["champion"], approvals: [approval(LEE, true)] });
    expect(versionGates(demo, approved, NOW).map((g) => [g.text, g.allowed, g.holds])).toEqual([
      ["@champion: 1 of 1 approval: allowed", true, true],
      ["Production: 1 of 1 approval: allowed", true, true],
    ]);
    // The author's own approval is not counted by the engine: 0 of 1.
    const own = version(3, { author_key: ANA, approvals: [approval(ANA, false)] });
    expect(versionGates(demo, own, NOW).map((g) => g.text)).toEqual(["@champion: 0 of 1 approval: needs 1 more", "Production: 0 of 1 approval: needs 1 more"]);
    expect(versionGates({ ...demo, stages: { Production: 2 } }, approved, NOW)[1].text).toBe("Production: 1 of 2 approvals: needs 1 more");
    // Before the policy starts, nothing is judged.
    expect(versionGates(demo, own, NOW - 7200000)[0]).toMatchObject({ allowed: true, text: `@champion: 0 of 1 approval: allowed until ${fmtTime(demo.since)}, when the policy starts` });
    expect(versionGates(none, own, NOW)).toEqual([]);
  });

  it("matches stages case-insensitively and aliases exactly", () => {
    expect(ruleFor(demo, "stage", "production")?.label).toBe("Production");
    expect(ruleFor(demo, "stage", " PRODUCTION ")?.need).toBe(1);
    expect(ruleFor(demo, "alias", "Champion")).toBeNull();
    expect(ruleFor(demo, "stage", "Staging")).toBeNull();
    expect(versionGates(demo, version(2, { stage: "production" }), NOW)[1].holds).toBe(true);
  });

  it("foresees a refusal before the change is sent", () => {
    const v = version(2, { author_key: ANA });
    expect(changeForecast(demo, v, "stage", "production", NOW)).toEqual({
      refused: true,
      text: "Production is protected by the policy: it needs 1 approval from Lee Chen; version 2 has 0, so this will be refused.",
    });
    const ok = version(2, { approvals: [approval(LEE, true)] });
    expect(changeForecast(demo, ok, "alias", "champion", NOW)).toEqual({
      refused: false,
      text: "@champion is protected by the policy: it needs 1 approval from Lee Chen; version 2 has 1: allowed.",
    });
    expect(changeForecast(demo, v, "alias", "candidate", NOW)).toBeNull();
    expect(changeForecast(demo, v, "stage", "Production", NOW - 7200000)?.refused).toBe(false);
    // Approving: the author's own, and a key the policy does not list.
    expect(approvalForecast(demo, v, ANA, NOW)).toMatch(/^You registered version 2: .* will be refused\.$/);
    expect(approvalForecast(demo, version(2, { author_key: LEE }), ANA, NOW)).toBe(
      `Only Lee Chen may approve: your key ${ANA} is not among the approvers in policy.yaml, so this will be refused.`,
    );
    expect(approvalForecast(demo, version(2, { author_key: LEE }), null, NOW)).toMatch(/you have no signing key yet/);
    expect(approvalForecast(demo, version(2, { author_key: ANA }), LEE, NOW)).toBeNull();
    expect(approvalForecast(none, version(2, { author_key: LEE }), ANA, NOW)).toBeNull();
    expect(approvalForecast({ ...none, author_may_approve: true }, v, ANA, NOW)).toBeNull();
  });

  it("says why an approval does not count", () => {
    const v = version(2, { author_key: ANA });
    expect(uncountedReason(demo, v, approval(LEE, true))).toBeNull();
    expect(uncountedReason(demo, v, approval(ANA, false))).toBe("the author's own: does not count");
    expect(uncountedReason(demo, v, approval("BBBB000011112222", false))).toBe("not a listed approver: does not count");
    expect(uncountedReason(null, v, approval(ANA, false))).toBe("the author's own: does not count");
  });
});
