from dashboard.models.accounts import AwsAccount
from dashboard.models.alerts import (
    Alert,
    BudgetRule,
    DeliveryAttempt,
    ForecastBaseline,
    Notification,
    NotificationChannel,
)
from dashboard.models.api import ApiToken
from dashboard.models.catalogue import InstanceType
from dashboard.models.costs import CostForecast, DailyCost, EndpointCost
from dashboard.models.endpoints import Endpoint, EndpointEvent, ProductionVariant
from dashboard.models.insights import Recommendation
from dashboard.models.lookups import AnyOf  # noqa: F401  (registers the `__any` lookup)
from dashboard.models.metrics import MetricCursor, MetricPoint, MetricRollup, MetricSeries
from dashboard.models.reports import ReportDelivery
from dashboard.models.runs import CollectionRun
from dashboard.models.summary import EndpointSummary
from dashboard.models.teams import Team

__all__ = [
    "Alert",
    "ApiToken",
    "AwsAccount",
    "BudgetRule",
    "CollectionRun",
    "CostForecast",
    "DailyCost",
    "DeliveryAttempt",
    "Endpoint",
    "EndpointCost",
    "EndpointEvent",
    "EndpointSummary",
    "ForecastBaseline",
    "InstanceType",
    "MetricCursor",
    "MetricPoint",
    "MetricRollup",
    "MetricSeries",
    "Notification",
    "NotificationChannel",
    "ProductionVariant",
    "Recommendation",
    "ReportDelivery",
    "Team",
]
