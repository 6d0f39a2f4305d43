/**
 * How far the roll of one instance group has come, from its nodes alone: a node is done when it
 * is in the state the stage requires. kops replaces nodes one after another, so the creation
 * times of the replaced nodes give the pace, and the pace gives an estimate of the time left.
 */

export interface RollNode {
  /** In the state the stage requires. */
  readonly done: boolean;
  /** Creation time in ms since the epoch; undefined when not known. */
  readonly createdAt: number | undefined;
}

export interface RollProgress {
  readonly total: number;
  readonly done: number;
  readonly left: number;
  /**
   * Seconds until every node is done at the pace so far: the nodes left times the mean
   * interval between the creations of the done nodes. Undefined with fewer than two done nodes
   * of known, different creation times.
   */
  readonly etaSeconds: number | undefined;
}

export function rollProgress(nodes: readonly RollNode[]): RollProgress {
  const done = nodes.filter((n) => n.done);
  const left = nodes.length - done.length;
  const times = done
    .map((n) => n.createdAt)
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b);
  let etaSeconds: number | undefined;
  const first = times[0];
  const last = times[times.length - 1];
  if (left === 0) etaSeconds = 0;
  else if (times.length >= 2 && first !== undefined && last !== undefined && last > first) {
    const interval = (last - first) / (times.length - 1);
    etaSeconds = Math.round((left * interval) / 1000);
  }
  return { total: nodes.length, done: done.length, left, etaSeconds };
}
