/** The migration's policy pack; the policies and their reasons are in policies.ts. */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("cni-migration", { policies: [...POLICIES] });
