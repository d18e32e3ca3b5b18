from dashboard.models.accounts import AwsAccount
from dashboard.models.catalogue import InstanceType
from dashboard.models.endpoints import Endpoint, EndpointEvent, ProductionVariant
from dashboard.models.runs import CollectionRun
from dashboard.models.teams import Team

__all__ = [
    "AwsAccount",
    "CollectionRun",
    "Endpoint",
    "EndpointEvent",
    "InstanceType",
    "ProductionVariant",
    "Team",
]
