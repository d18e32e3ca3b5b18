"""Reads AWS (SageMaker inventory, CloudWatch, Cost Explorer) into Postgres.

Only collectors/aws/ and collectors/simulator/ import boto3/botocore; neither imports Django.
"""
