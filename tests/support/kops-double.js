#!/usr/bin/env node
// A test double of the kops CLI for unit tests: serves and stores specs in a folder given as
// `--state file:///DIR`, in DIR/specs.yaml (what `kops get all -o yaml` prints), and appends
// every call's arguments as a JSON line to DIR/calls.log. It changes no cluster.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const YAML = require("yaml");

const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const state = flag("--state") ?? process.env.KOPS_STATE_STORE ?? "";
if (!state.startsWith("file://")) {
  process.stderr.write(`kops double: --state must be file:///DIR, got ${JSON.stringify(state)}\n`);
  process.exit(2);
}
const dir = state.slice("file://".length);
fs.appendFileSync(path.join(dir, "calls.log"), JSON.stringify(argv) + "\n");
const specsFile = path.join(dir, "specs.yaml");
const docs = () =>
  YAML.parseAllDocuments(fs.readFileSync(specsFile, "utf8"))
    .map((d) => d.toJS())
    .filter(Boolean);
const dump = (objs) => objs.map((o) => YAML.stringify(o)).join("---\n");

const [verb, noun] = argv;
if (verb === "version") {
  process.stdout.write(
    `Client version: ${process.env.KOPS_DOUBLE_VERSION ?? "1.33.2"} (git-v1.33.2)\n`,
  );
} else if (verb === "get" && noun === "cluster") {
  process.stdout.write(dump(docs().filter((o) => o.kind === "Cluster")));
} else if (verb === "get" && (noun === "instancegroups" || noun === "ig")) {
  process.stdout.write(dump(docs().filter((o) => o.kind === "InstanceGroup")));
} else if (verb === "replace") {
  const incoming = YAML.parse(fs.readFileSync(flag("-f"), "utf8"));
  const all = docs();
  const i = all.findIndex(
    (o) => o.kind === incoming.kind && o.metadata.name === incoming.metadata.name,
  );
  if (i < 0) {
    process.stderr.write(`${incoming.kind} ${incoming.metadata.name} not found\n`);
    process.exit(1);
  }
  all[i] = incoming;
  fs.writeFileSync(specsFile, dump(all));
} else if (verb === "update" || verb === "rolling-update" || verb === "validate") {
  process.stdout.write(`kops double: ${argv.join(" ")}\n`);
} else {
  process.stderr.write(`kops double: unsupported command ${JSON.stringify(argv)}\n`);
  process.exit(2);
}
