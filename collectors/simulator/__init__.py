"""A simulated AWS account, plugged in below boto3, so the whole dashboard runs with no AWS account.

Switch: the setting AWS_SIMULATOR (e.g. `AWS_SIMULATOR=seed=7`, or `default`) makes collectors.runtime
build its ClientFactory with `hooks=[SimulatedAWS.from_spec(spec).attach]`; the collectors do not know.
Every answer is computed locally and validated against botocore's service model; nothing ever reaches
the network (a `before-send` guard raises). Same seed + same clock => byte-identical answers.

The fleet (defaults: 40 endpoints, accounts 111111111111 [ambient, payer] and 222222222222 [reached by
sts:AssumeRole on arn:aws:iam::222222222222:role/SageMakerDashboardReadOnly], us-east-1 and eu-west-1,
90 days of history, teams tagged "team" = search / recsys / vision / nlp plus a "cost-centre" tag):
- search-embed-serverless, nlp-translate-serverless, recsys-features-serverless: over-provisioned
  memory (6 GB using ~0.9 GB, 4 GB using ~0.7 GB, 5 GB using ~1.1 GB);
- nlp-legacy-inf2: idle instance endpoint, no invocations for 14 days, still billed;
- recsys-ranker-serverless: throttling at MaxConcurrency 4 (utilisation 1.0, throttled calls as 4XX);
- nlp-chat-serverless: runaway, traffic x5 over the last 3 days;
- vision-batch-p4d: ml.p4d.24xlarge whose 8 GPUs run at a few percent;
- search-query-pc: serverless with provisioned concurrency 4 (spillover in bursts);
- recsys-abtest: two instance variants (champion ml.g5.2xlarge x2, challenger ml.g4dn.xlarge);
- scratch-demo-serverless: untagged, sporadic traffic, mostly cold starts;
- the rest: ordinary serverless and GPU endpoints (one more untagged), see fleet.py.
Each endpoint records its design `role`; `fleet.daily_cost(endpoint, day)` is the ground-truth bill.

Modelled calls: sagemaker ListEndpoints / DescribeEndpoint / DescribeEndpointConfig / ListTags; sts
GetCallerIdentity / AssumeRole; cloudwatch GetMetricData / ListMetrics; ce GetCostAndUsage /
GetCostAndUsageWithResources / GetCostForecast / GetDimensionValues. Any other call raises NotSimulated.
"""

from collectors.simulator.core import SimulatedAWS
from collectors.simulator.fleet import ROLES, Fleet, SimAccount, SimEndpoint, SimVariant
from collectors.simulator.protocol import AWSError, NotSimulated, SimulatorBug, validate_response

__all__ = [
    "ROLES",
    "AWSError",
    "Fleet",
    "NotSimulated",
    "SimAccount",
    "SimEndpoint",
    "SimVariant",
    "SimulatedAWS",
    "SimulatorBug",
    "validate_response",
]
