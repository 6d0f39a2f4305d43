import * as pulumi from "@pulumi/pulumi";

/**
 * The `dependsOn` a component's children need: a component's own `dependsOn` does not hold its
 * children back, so each component passes what it was given on to them, with `more`.
 */
export function childDependsOn(
  opts: pulumi.ComponentResourceOptions | undefined,
  ...more: pulumi.Resource[]
): pulumi.Input<pulumi.Resource>[] {
  const given = opts?.dependsOn;
  const list: pulumi.Input<pulumi.Resource>[] =
    given === undefined
      ? []
      : Array.isArray(given)
        ? given
        : [given as pulumi.Input<pulumi.Resource>];
  return [...list, ...more];
}
