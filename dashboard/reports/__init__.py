"""The weekly FinOps review: an ISO week's figures for the fleet or one team (review.py), written as XLSX
or a zip of CSVs (formats.py), downloaded from /reports/, the API and `manage.py finops_report`, and
e-mailed each week (delivery.py)."""
