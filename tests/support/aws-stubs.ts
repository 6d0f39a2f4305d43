/**
 * Stubs of the AWS SDK clients the preflight uses. Each suite makes its own before its tests and
 * restores them after, since stubbing a client class again replaces the stub other suites hold.
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";

export function stubAws(): {
  elb: ReturnType<typeof stubElb>;
  ec2: ReturnType<typeof stubEc2>;
  asg: ReturnType<typeof stubAsg>;
} {
  return { elb: stubElb(), ec2: stubEc2(), asg: stubAsg() };
}
const stubElb = () => mockClient(ElasticLoadBalancingV2Client);
const stubEc2 = () => mockClient(EC2Client);
const stubAsg = () => mockClient(AutoScalingClient);

export type AwsStubs = ReturnType<typeof stubAws>;

export function restoreAws(s: AwsStubs): void {
  s.elb.restore();
  s.ec2.restore();
  s.asg.restore();
}
