"""The collectors' writes into Postgres (Django ORM and bulk SQL); nothing here calls AWS."""
