// Validates Argo CD and External Secrets objects against the upstream CRD schemas that the npm
// packages @kubernetes-models/argo-cd and @kubernetes-models/external-secrets compile into
// validators (`new Kind(obj).validate()` throws listing every violation).
//
// Usage: node crd_validate.mjs <node_modules dir> < docs.json
// stdin: a JSON array of documents (JSON is YAML's subset; the Python side parses the YAML).
// stdout: {"versions": {package: version}, "results": [{index, kind, name, ok, error}]}.
// An object whose apiVersion/kind has no validator is reported as a failure, never skipped.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const MODELS = {
  "argoproj.io/v1alpha1": {
    pkg: "@kubernetes-models/argo-cd",
    dir: "argoproj.io/v1alpha1",
    kinds: ["Application", "AppProject", "ApplicationSet"],
  },
  "external-secrets.io/v1": {
    pkg: "@kubernetes-models/external-secrets",
    dir: "external-secrets.io/v1",
    kinds: ["ExternalSecret", "ClusterSecretStore", "SecretStore"],
  },
};

async function loadModel(modulesDir, apiVersion, kind) {
  const group = MODELS[apiVersion];
  if (!group || !group.kinds.includes(kind)) {
    return null;
  }
  const file = join(modulesDir, group.pkg, group.dir, `${kind}.js`);
  const module = await import(pathToFileURL(file).href);
  return module[kind];
}

function packageVersions(modulesDir) {
  const versions = {};
  for (const group of Object.values(MODELS)) {
    const manifest = JSON.parse(readFileSync(join(modulesDir, group.pkg, "package.json"), "utf8"));
    versions[group.pkg] = manifest.version;
  }
  return versions;
}

async function main() {
  const modulesDir = process.argv[2];
  if (!modulesDir) {
    console.error("usage: node crd_validate.mjs <node_modules dir> < docs.json");
    process.exit(2);
  }
  const docs = JSON.parse(readFileSync(0, "utf8"));
  const results = [];
  for (const [index, doc] of docs.entries()) {
    const kind = doc?.kind ?? "";
    const name = doc?.metadata?.name ?? "";
    const Model = await loadModel(modulesDir, doc?.apiVersion ?? "", kind);
    if (Model === null) {
      results.push({ index, kind, name, ok: false, error: `no validator for ${doc?.apiVersion}/${kind}` });
      continue;
    }
    try {
      new Model(doc).validate();
      results.push({ index, kind, name, ok: true, error: null });
    } catch (err) {
      results.push({ index, kind, name, ok: false, error: String(err?.message ?? err) });
    }
  }
  process.stdout.write(JSON.stringify({ versions: packageVersions(modulesDir), results }));
}

await main();
