from dashboard.models.accounts import AwsAccount
from dashboard.models.api import ApiToken
from dashboard.models.catalogue import InstanceType
from dashboard.models.costs import CostForecast, DailyCost, EndpointCost
from dashboard.models.endpoints import Endpoint, EndpointEvent, ProductionVariant
from dashboard.models.insights import Recommendation
from dashboard.models.metrics import MetricCursor, MetricPoint, MetricRollup, MetricSeries
from dashboard.models.runs import CollectionRun
from dashboard.models.summary import EndpointSummary
from dashboard.models.teams import Team

__all__ = [
    "ApiToken",
    "AwsAccount",
    "CollectionRun",
    "CostForecast",
    "DailyCost",
    "Endpoint",
    "EndpointCost",
    "EndpointEvent",
    "EndpointSummary",
    "InstanceType",
    "MetricCursor",
    "MetricPoint",
    "MetricRollup",
    "MetricSeries",
    "ProductionVariant",
    "Recommendation",
    "Team",
]
