/**
 * The cni-migration Pulumi program: one stack per stage (`pulumi up -s stage2`). It reads its
 * config, checks it, reads the kops specs and the cluster, runs preflight, and declares the
 * stage. Nothing is registered when any check fails.
 */
import { main } from "./lib/main";

export = main();
